# ruff: noqa: S608
# (S608: queries are put together from constant column lists only; every value is a bound
# parameter.)
"""Enrolments in SQLite: the ``users`` statements, each sample added in one write transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from voiceauth_adapters.sql.rows import USER_COLUMNS, USER_WRITTEN, Row
from voiceauth_adapters.sql.users import SqlUserRepository
from voiceauth_adapters.sqlite.codec import CODEC
from voiceauth_core.errors import PhoneNumberInUseError

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher
    from voiceauth_adapters.sqlite.connection import SqliteDatabase

__all__ = ["SqliteUserRepository", "SqliteUserTable"]

T = TypeVar("T")

_ENROLLED = "sample_count > 0"
# ?1 is the id; the written columns follow from ?2.
_UPDATE = (
    "UPDATE users SET "
    + ", ".join(f"{column} = ?{index}" for index, column in enumerate(USER_WRITTEN, start=2))
    + " WHERE id = ?1"
)
_INSERT = (
    f"INSERT INTO users (id, {', '.join(USER_WRITTEN)})"
    f" VALUES ({', '.join(f'?{index}' for index in range(1, len(USER_WRITTEN) + 2))})"
)


class SqliteUserTable:
    """The statements of :class:`~voiceauth_adapters.sql.tables.UserTable` on SQLite."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def enrolled(self, column: Literal["id", "phone"], value: Any) -> Row | None:
        """The row whose ``column`` is ``value``, if it holds samples."""

        def run(conn: sqlite3.Connection) -> Row | None:
            row: Row | None = conn.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE {column} = ? AND {_ENROLLED}", (value,)
            ).fetchone()
            return row

        return await self._db.read(run)

    async def enrolled_after(self, after: Any | None, limit: int) -> Sequence[Row]:
        """Up to ``limit`` rows holding samples, in id order, after id ``after``."""
        start = "" if after is None else after

        def run(conn: sqlite3.Connection) -> Sequence[Row]:
            return conn.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE {_ENROLLED} AND id > ?"
                " ORDER BY id LIMIT ?",
                (start, limit),
            ).fetchall()

        return await self._db.read(run)

    async def save(
        self, user_id: Any, now: Any, merge: Callable[[Row | None], tuple[T, Sequence[Any]]]
    ) -> T:
        """Read the user's row, merge, write; one ``BEGIN IMMEDIATE`` transaction.

        Raises:
            PhoneNumberInUseError: The phone number is another user's (``users.phone``).
        """
        del now  # the row is written whole: it needs no placeholder

        def run(conn: sqlite3.Connection) -> T:
            row = conn.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,)
            ).fetchone()
            merged, values = merge(row)
            try:
                conn.execute(_INSERT if row is None else _UPDATE, (user_id, *values))
            except sqlite3.IntegrityError as exc:
                if "users.phone" not in str(exc):
                    raise
                raise PhoneNumberInUseError(
                    "that phone number is enrolled for another user"
                ) from exc
            return merged

        return await self._db.write(run)

    async def delete(self, user_id: Any) -> bool:
        """Delete the user's row; whether it held samples."""

        def run(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT sample_count FROM users WHERE id = ?", (user_id,)).fetchone()
            conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
            return row is not None and row[0] > 0

        return await self._db.write(run)


class SqliteUserRepository(SqlUserRepository):
    """The ``UserRepository`` port over the embedded database's ``users`` table (the logic:
    :class:`~voiceauth_adapters.sql.users.SqlUserRepository`).

    Each sample is read, merged and written in one ``BEGIN IMMEDIATE`` transaction, so no
    concurrent sample is lost.

    Args:
        database: The embedded database.
        cipher: Seals every vector written (the clear blob columns are left NULL) and opens
            sealed ones; None stores them in the clear. Rows in the clear are read either way.
    """

    def __init__(self, database: SqliteDatabase, *, cipher: TemplateCipher | None = None) -> None:
        super().__init__(SqliteUserTable(database), CODEC, cipher=cipher)
