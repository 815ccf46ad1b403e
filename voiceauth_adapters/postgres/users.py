# ruff: noqa: S608
# (S608: queries are put together from constant column lists only; every value is a bound
# parameter.)
"""Enrolments in Postgres: the ``users`` statements, each sample added under the row's lock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import asyncpg

from voiceauth_adapters.postgres.codec import CODEC
from voiceauth_adapters.sql.rows import USER_COLUMNS, USER_WRITTEN, Row
from voiceauth_adapters.sql.users import SqlUserRepository
from voiceauth_core.errors import PhoneNumberInUseError

if TYPE_CHECKING:
    from voiceauth_adapters.postgres.connection import PostgresDatabase
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["PostgresUserRepository", "PostgresUserTable"]

T = TypeVar("T")

_ENROLLED = "sample_count > 0"
# $1 is the id; the written columns follow from $2.
_UPDATE = (
    "UPDATE users SET "
    + ", ".join(f"{column} = ${index}" for index, column in enumerate(USER_WRITTEN, start=2))
    + " WHERE id = $1"
)


class PostgresUserTable:
    """The statements of :class:`~voiceauth_adapters.sql.tables.UserTable` on Postgres."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def enrolled(self, column: Literal["id", "phone"], value: Any) -> Row | None:
        """The row whose ``column`` is ``value``, if it holds samples."""

        async def run(conn: Any) -> Row | None:
            row: Row | None = await conn.fetchrow(
                f"SELECT {USER_COLUMNS} FROM users WHERE {column} = $1 AND {_ENROLLED}", value
            )
            return row

        return await self._db.read(run)

    async def enrolled_after(self, after: Any | None, limit: int) -> Sequence[Row]:
        """Up to ``limit`` rows holding samples, in id order, after id ``after``."""

        async def run(conn: Any) -> Sequence[Row]:
            if after is None:
                return list(
                    await conn.fetch(
                        f"SELECT {USER_COLUMNS} FROM users WHERE {_ENROLLED} ORDER BY id LIMIT $1",
                        limit,
                    )
                )
            return list(
                await conn.fetch(
                    f"SELECT {USER_COLUMNS} FROM users WHERE {_ENROLLED} AND id > $1"
                    " ORDER BY id LIMIT $2",
                    after,
                    limit,
                )
            )

        return await self._db.read(run)

    async def save(
        self, user_id: Any, now: Any, merge: Callable[[Row | None], tuple[T, Sequence[Any]]]
    ) -> T:
        """Lock the user's row (``SELECT ... FOR UPDATE``), merge, write; one transaction.

        Raises:
            PhoneNumberInUseError: The phone number is another user's (``users_phone_key``).
        """

        async def run(conn: Any) -> T:
            # The placeholder gives a first sample a row to lock; a concurrent first sample
            # waits here for ours to commit, then finds the row. Rolled back with the rest.
            await conn.execute(
                "INSERT INTO users (id, model_id, enrolled_at, updated_at) VALUES ($1, '', $2, $2)"
                " ON CONFLICT (id) DO NOTHING",
                user_id,
                now,
            )
            row = await conn.fetchrow(
                f"SELECT {USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE", user_id
            )
            merged, values = merge(row)
            try:
                await conn.execute(_UPDATE, user_id, *values)
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name != "users_phone_key":
                    raise
                raise PhoneNumberInUseError(
                    "that phone number is enrolled for another user"
                ) from exc
            return merged

        return await self._db.write(run)

    async def delete(self, user_id: Any) -> bool:
        """Delete the user's row; whether it held samples."""

        async def run(conn: Any) -> bool:
            count = await conn.fetchval(
                "DELETE FROM users WHERE id = $1 RETURNING sample_count", user_id
            )
            return count is not None and count > 0

        return await self._db.write(run)


class PostgresUserRepository(SqlUserRepository):
    """The ``UserRepository`` port over Postgres's ``users`` table (the logic:
    :class:`~voiceauth_adapters.sql.users.SqlUserRepository`).

    Concurrent samples for one user queue on the row lock (``SELECT ... FOR UPDATE``).

    Args:
        database: The connection pool.
        cipher: Seals every vector written (the float array columns are left NULL) and opens
            sealed ones; None stores them in the clear. Rows in the clear are read either way.
    """

    def __init__(self, database: PostgresDatabase, *, cipher: TemplateCipher | None = None) -> None:
        super().__init__(PostgresUserTable(database), CODEC, cipher=cipher)
