# ruff: noqa: S608
# (S608: queries are put together from this module's constant fragments only; every value is
# a bound parameter.)
"""Template protection on SQLite: the census and reseal statements over ``users``."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sealing.census import ResealProgress, TemplateCensus
from voiceauth_adapters.sealing.columns import VECTOR_FIELDS
from voiceauth_adapters.sql.resealing import (
    IN_THE_CLEAR,
    RESEAL_COLUMNS,
    SEALED_COLUMNS,
    reseal_in_batches,
)
from voiceauth_adapters.sql.rows import Row
from voiceauth_adapters.sqlite.codec import CODEC

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher
    from voiceauth_adapters.sqlite.connection import SqliteDatabase

__all__ = ["CENSUS_QUERIES", "SqliteResealTable", "reseal_templates", "template_census"]

# A reseal's SET clause (the row's id is the last parameter).
_RESEALED = ", ".join(f"{column} = NULL, {column}_sealed = ?" for column in VECTOR_FIELDS)
# A row to reseal holds a vector in the clear, or one sealed under another key than :key.
_NEEDS_RESEALING = (
    f"({IN_THE_CLEAR}"
    + "".join(f" OR substr({column}, 2, 4) <> :key" for column in SEALED_COLUMNS)
    + ")"
)

#: The census's statements; each reads one of migrations 0005's and 0006's indexes, not the table.
CENSUS_QUERIES = (
    f"SELECT count(*) FROM users WHERE {IN_THE_CLEAR}",
    *(
        f"SELECT lower(hex(substr({column}, 2, 4))), count(*) FROM users"
        f" WHERE {column} IS NOT NULL GROUP BY substr({column}, 2, 4)"
        for column in SEALED_COLUMNS
    ),
)


def _census(conn: sqlite3.Connection) -> TemplateCensus:
    clear_query, *key_queries = CENSUS_QUERIES
    (clear,) = conn.execute(clear_query).fetchone()
    by_column = [dict(conn.execute(query).fetchall()) for query in key_queries]
    return TemplateCensus.from_columns(clear=clear, by_column=by_column)


async def template_census(database: SqliteDatabase) -> TemplateCensus:
    """Rows in the clear, and rows sealed by key id; changes nothing."""
    return await database.read(_census)


class SqliteResealTable:
    """The statements of :class:`~voiceauth_adapters.sql.tables.ResealTable` on SQLite."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def count_to_reseal(self, key_id: bytes) -> int:
        """How many rows hold a vector in the clear, or one sealed under another key."""

        def run(conn: sqlite3.Connection) -> int:
            (total,) = conn.execute(
                f"SELECT count(*) FROM users WHERE {_NEEDS_RESEALING}", {"key": key_id}
            ).fetchone()
            return int(total)

        return await self._db.read(run)

    async def reseal_batch(
        self,
        key_id: bytes,
        after: Any | None,
        size: int,
        reseal: Callable[[Row], Sequence[bytes | None]],
    ) -> Sequence[Row]:
        """Reseal a batch in one ``BEGIN IMMEDIATE`` transaction; return its rows."""
        start = "" if after is None else after

        def run(conn: sqlite3.Connection) -> Sequence[Row]:
            rows: Sequence[Row] = conn.execute(
                f"SELECT {RESEAL_COLUMNS} FROM users WHERE id > :after AND {_NEEDS_RESEALING}"
                " ORDER BY id LIMIT :size",
                {"key": key_id, "after": start, "size": size},
            ).fetchall()
            for row in rows:
                conn.execute(f"UPDATE users SET {_RESEALED} WHERE id = ?", (*reseal(row), row[0]))
            return rows

        return await self._db.write(run)


def reseal_templates(
    database: SqliteDatabase, cipher: TemplateCipher, *, batch_size: int = 500
) -> AsyncIterator[ResealProgress]:
    """Seal every vector under the cipher's current key, ``batch_size`` rows per transaction;
    yields the progress after each (see :func:`~voiceauth_adapters.sql.reseal_in_batches`)."""
    return reseal_in_batches(SqliteResealTable(database), CODEC, cipher, batch_size=batch_size)
