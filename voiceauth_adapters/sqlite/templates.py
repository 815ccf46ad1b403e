# ruff: noqa: S608
# (S608: queries are put together from this module's constant fragments only; every value is
# a bound parameter.)
"""Template protection on SQLite: the census and reseal statements over ``users``, and over the
watchlist's and the attempts' sealed embeddings."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sealing.census import ResealProgress, TemplateCensus
from voiceauth_adapters.sql.resealing import (
    IN_THE_CLEAR,
    SEALED_COLUMNS,
    SEALED_TABLES,
    SealedTable,
    reseal_tables,
)
from voiceauth_adapters.sql.rows import Row
from voiceauth_adapters.sqlite.codec import CODEC

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher
    from voiceauth_adapters.sqlite.connection import SqliteDatabase

__all__ = [
    "CENSUS_QUERIES",
    "EMBEDDING_CENSUS_QUERIES",
    "SqliteResealTable",
    "reseal_templates",
    "template_census",
]


def _resealed(table: SealedTable) -> str:
    """A reseal's SET clause (the row's id is the last parameter)."""
    return ", ".join(f"{column} = NULL, {column}_sealed = ?" for column in table.fields)


def _needs_resealing(table: SealedTable) -> str:
    """A row to reseal holds a vector in the clear, or one sealed under another key than :key."""
    return (
        f"({table.in_the_clear}"
        + "".join(f" OR substr({column}, 2, 4) <> :key" for column in table.sealed_columns)
        + ")"
    )


def _census_queries(table: SealedTable) -> tuple[str, ...]:
    return (
        f"SELECT count(*) FROM {table.name} WHERE {table.in_the_clear}",
        *(
            f"SELECT lower(hex(substr({column}, 2, 4))), count(*) FROM {table.name}"
            f" WHERE {column} IS NOT NULL GROUP BY substr({column}, 2, 4)"
            for column in table.sealed_columns
        ),
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


#: The census's statements over the other sealed embeddings (migration 0009's indexes): the
#: watchlist's, then the attempts' probes, each the rows in the clear then the rows by key id.
EMBEDDING_CENSUS_QUERIES = tuple(_census_queries(table) for table in SEALED_TABLES[1:])


def _count(conn: sqlite3.Connection, queries: Sequence[str]) -> TemplateCensus:
    clear_query, *key_queries = queries
    (clear,) = conn.execute(clear_query).fetchone()
    by_column = [dict(conn.execute(query).fetchall()) for query in key_queries]
    return TemplateCensus.from_columns(clear=clear, by_column=by_column)


def _census(conn: sqlite3.Connection) -> TemplateCensus:
    census = _count(conn, CENSUS_QUERIES)
    for queries in EMBEDDING_CENSUS_QUERIES:
        census = census.plus(_count(conn, queries))
    return census


async def template_census(database: SqliteDatabase) -> TemplateCensus:
    """Rows in the clear, and rows sealed by key id; changes nothing."""
    return await database.read(_census)


class SqliteResealTable:
    """The statements of :class:`~voiceauth_adapters.sql.tables.ResealTable` on SQLite.

    Args:
        database: The embedded database.
        table: The sealed table (``users`` unless told).
    """

    def __init__(self, database: SqliteDatabase, table: SealedTable = SEALED_TABLES[0]) -> None:
        self._db = database
        self._table = table.name
        self._columns = table.reseal_columns
        self._resealed = _resealed(table)
        self._needs_resealing = _needs_resealing(table)

    async def count_to_reseal(self, key_id: bytes) -> int:
        """How many rows hold a vector in the clear, or one sealed under another key."""

        def run(conn: sqlite3.Connection) -> int:
            (total,) = conn.execute(
                f"SELECT count(*) FROM {self._table} WHERE {self._needs_resealing}",
                {"key": key_id},
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
                f"SELECT {self._columns} FROM {self._table}"
                f" WHERE id > :after AND {self._needs_resealing}"
                " ORDER BY id LIMIT :size",
                {"key": key_id, "after": start, "size": size},
            ).fetchall()
            for row in rows:
                conn.execute(
                    f"UPDATE {self._table} SET {self._resealed} WHERE id = ?",
                    (*reseal(row), row[0]),
                )
            return rows

        return await self._db.write(run)


def reseal_templates(
    database: SqliteDatabase, cipher: TemplateCipher, *, batch_size: int = 500
) -> AsyncIterator[ResealProgress]:
    """Seal every vector of every sealed table under the cipher's current key, ``batch_size``
    rows per transaction; yields the progress after each (see
    :func:`~voiceauth_adapters.sql.resealing.reseal_tables`)."""
    tables = [(SqliteResealTable(database, table), table.fields) for table in SEALED_TABLES]
    return reseal_tables(tables, CODEC, cipher, batch_size=batch_size)
