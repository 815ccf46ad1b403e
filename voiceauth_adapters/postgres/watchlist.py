# ruff: noqa: S608
# (S608: queries are put together from constant fragments only; every value is a bound
# parameter.)
"""The fraud watchlist in Postgres: the ``watchlist_entries`` statements, with keyset pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.postgres.codec import CODEC
from voiceauth_adapters.sql.rows import WATCHLIST_COLUMNS, Row
from voiceauth_adapters.sql.watchlist import SqlWatchlist

if TYPE_CHECKING:
    from voiceauth_adapters.postgres.connection import PostgresDatabase
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["PostgresWatchlist", "PostgresWatchlistTable"]

_COLUMNS = ", ".join(WATCHLIST_COLUMNS)
_INSERT = (
    f"INSERT INTO watchlist_entries ({_COLUMNS})"
    f" VALUES ({', '.join(f'${index}' for index in range(1, len(WATCHLIST_COLUMNS) + 1))})"
)
_BUMP = "UPDATE watchlist_revision SET revision = revision + 1 WHERE id = 1"


class PostgresWatchlistTable:
    """The statements of :class:`~voiceauth_adapters.sql.tables.WatchlistTable` on Postgres."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def insert(self, values: Sequence[Any]) -> None:
        """Insert the entry and move the revision on."""

        async def run(conn: Any) -> None:
            await conn.execute(_INSERT, *values)
            await conn.execute(_BUMP)

        await self._db.write(run)

    async def one(self, entry_id: Any) -> Row | None:
        """The entry's row, or None."""

        async def run(conn: Any) -> Row | None:
            row: Row | None = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM watchlist_entries WHERE id = $1", entry_id
            )
            return row

        return await self._db.read(run)

    async def newest(self, *, limit: int, before: tuple[Any, Any] | None = None) -> Sequence[Row]:
        """Up to ``limit`` rows, newest first, before ``before``."""
        condition = "TRUE" if before is None else "(created_at, id) < ($2, $3)"
        parameters = (limit, *(before or ()))
        query = (
            f"SELECT {_COLUMNS} FROM watchlist_entries WHERE {condition}"
            " ORDER BY created_at DESC, id DESC LIMIT $1"
        )

        async def run(conn: Any) -> Sequence[Row]:
            return list(await conn.fetch(query, *parameters))

        return await self._db.read(run)

    async def delete(self, entry_id: Any) -> bool:
        """Erase the entry and move the revision on; False if there was none."""

        async def run(conn: Any) -> bool:
            status = await conn.execute("DELETE FROM watchlist_entries WHERE id = $1", entry_id)
            if status != "DELETE 1":
                return False
            await conn.execute(_BUMP)
            return True

        return await self._db.write(run)

    async def every(self) -> Sequence[Row]:
        """Every row."""

        async def run(conn: Any) -> Sequence[Row]:
            return list(await conn.fetch(f"SELECT {_COLUMNS} FROM watchlist_entries"))

        return await self._db.read(run)

    async def revision(self) -> int:
        """The revision number."""

        async def run(conn: Any) -> int:
            return int(await conn.fetchval("SELECT revision FROM watchlist_revision WHERE id = 1"))

        return await self._db.read(run)


class PostgresWatchlist(SqlWatchlist):
    """The ``Watchlist`` port over Postgres (the logic:
    :class:`~voiceauth_adapters.sql.watchlist.SqlWatchlist`).

    Args:
        database: The connection pool.
        cipher: Seals every embedding written; None stores them in the clear.
    """

    def __init__(self, database: PostgresDatabase, *, cipher: TemplateCipher | None = None) -> None:
        super().__init__(PostgresWatchlistTable(database), CODEC, cipher=cipher)
