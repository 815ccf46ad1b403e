# ruff: noqa: S608
# (S608: queries are put together from constant fragments only; every value is a bound
# parameter.)
"""The fraud watchlist in SQLite: the ``watchlist_entries`` statements, with keyset pages."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sql.rows import WATCHLIST_COLUMNS, Row
from voiceauth_adapters.sql.watchlist import SqlWatchlist
from voiceauth_adapters.sqlite.codec import CODEC

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher
    from voiceauth_adapters.sqlite.connection import SqliteDatabase

__all__ = ["SqliteWatchlist", "SqliteWatchlistTable"]

_COLUMNS = ", ".join(WATCHLIST_COLUMNS)
_INSERT = (
    f"INSERT INTO watchlist_entries ({_COLUMNS})"
    f" VALUES ({', '.join('?' for _ in WATCHLIST_COLUMNS)})"
)
_BUMP = "UPDATE watchlist_revision SET revision = revision + 1 WHERE id = 1"


class SqliteWatchlistTable:
    """The statements of :class:`~voiceauth_adapters.sql.tables.WatchlistTable` on SQLite."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def insert(self, values: Sequence[Any]) -> None:
        """Insert the entry and move the revision on."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(_INSERT, tuple(values))
            conn.execute(_BUMP)

        await self._db.write(run)

    async def one(self, entry_id: Any) -> Row | None:
        """The entry's row, or None."""

        def run(conn: sqlite3.Connection) -> Row | None:
            row: Row | None = conn.execute(
                f"SELECT {_COLUMNS} FROM watchlist_entries WHERE id = ?", (entry_id,)
            ).fetchone()
            return row

        return await self._db.read(run)

    async def newest(self, *, limit: int, before: tuple[Any, Any] | None = None) -> Sequence[Row]:
        """Up to ``limit`` rows, newest first, before ``before``."""
        condition = "1 = 1" if before is None else "(created_at, id) < (?, ?)"
        parameters = (*(before or ()), limit)
        query = (
            f"SELECT {_COLUMNS} FROM watchlist_entries WHERE {condition}"
            " ORDER BY created_at DESC, id DESC LIMIT ?"
        )

        def run(conn: sqlite3.Connection) -> Sequence[Row]:
            return conn.execute(query, parameters).fetchall()

        return await self._db.read(run)

    async def delete(self, entry_id: Any) -> bool:
        """Erase the entry and move the revision on; False if there was none."""

        def run(conn: sqlite3.Connection) -> bool:
            deleted = conn.execute("DELETE FROM watchlist_entries WHERE id = ?", (entry_id,))
            if deleted.rowcount != 1:
                return False
            conn.execute(_BUMP)
            return True

        return await self._db.write(run)

    async def every(self) -> Sequence[Row]:
        """Every row."""

        def run(conn: sqlite3.Connection) -> Sequence[Row]:
            return conn.execute(f"SELECT {_COLUMNS} FROM watchlist_entries").fetchall()

        return await self._db.read(run)

    async def revision(self) -> int:
        """The revision number."""

        def run(conn: sqlite3.Connection) -> int:
            (revision,) = conn.execute(
                "SELECT revision FROM watchlist_revision WHERE id = 1"
            ).fetchone()
            return int(revision)

        return await self._db.read(run)


class SqliteWatchlist(SqlWatchlist):
    """The ``Watchlist`` port over the embedded database (the logic:
    :class:`~voiceauth_adapters.sql.watchlist.SqlWatchlist`).

    Args:
        database: The embedded database.
        cipher: Seals every embedding written; None stores them in the clear.
    """

    def __init__(self, database: SqliteDatabase, *, cipher: TemplateCipher | None = None) -> None:
        super().__init__(SqliteWatchlistTable(database), CODEC, cipher=cipher)
