# ruff: noqa: S608
# (S608: queries are put together from this module's constant fragments only; every value is
# a bound parameter.)
"""Template protection on Postgres: the census and reseal statements over ``users``, and over
the watchlist's and the attempts' sealed embeddings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.postgres.codec import CODEC
from voiceauth_adapters.sealing.census import ResealProgress, TemplateCensus
from voiceauth_adapters.sql.resealing import (
    IN_THE_CLEAR,
    SEALED_COLUMNS,
    SEALED_TABLES,
    SealedTable,
    reseal_tables,
)
from voiceauth_adapters.sql.rows import Row

if TYPE_CHECKING:
    from voiceauth_adapters.postgres.connection import PostgresDatabase
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = [
    "CENSUS_QUERIES",
    "EMBEDDING_CENSUS_QUERIES",
    "PostgresResealTable",
    "reseal_templates",
    "template_census",
]


def _resealed(table: SealedTable) -> str:
    """A reseal's SET clause ($1 is the row's id)."""
    return ", ".join(
        f"{column} = NULL, {column}_sealed = ${index}"
        for index, column in enumerate(table.fields, start=2)
    )


def _needs_resealing(table: SealedTable) -> str:
    """A row to reseal holds a vector in the clear, or one sealed under another key than $1."""
    return (
        f"({table.in_the_clear}"
        + "".join(f" OR substring({column} FROM 2 FOR 4) <> $1" for column in table.sealed_columns)
        + ")"
    )


def _census_queries(table: SealedTable) -> tuple[str, ...]:
    return (
        f"SELECT count(*) FROM {table.name} WHERE {table.in_the_clear}",
        *(
            f"SELECT encode(substring({column} FROM 2 FOR 4), 'hex') AS key_id, count(*) AS n"
            f" FROM {table.name} WHERE {column} IS NOT NULL"
            f" GROUP BY substring({column} FROM 2 FOR 4)"
            for column in table.sealed_columns
        ),
    )


#: The census's statements: the rows in the clear, then each sealed column's rows by key id;
#: each reads one of migrations 0005's and 0006's partial indexes.
CENSUS_QUERIES = (
    f"SELECT count(*) FROM users WHERE {IN_THE_CLEAR}",
    *(
        f"SELECT encode(substring({column} FROM 2 FOR 4), 'hex') AS key_id, count(*) AS n"
        f" FROM users WHERE {column} IS NOT NULL GROUP BY substring({column} FROM 2 FOR 4)"
        for column in SEALED_COLUMNS
    ),
)
#: The census's statements over the other sealed embeddings (migration 0009's indexes): the
#: watchlist's, then the attempts' probes, each the rows in the clear then the rows by key id.
EMBEDDING_CENSUS_QUERIES = tuple(_census_queries(table) for table in SEALED_TABLES[1:])


async def template_census(database: PostgresDatabase) -> TemplateCensus:
    """Rows in the clear, and rows sealed by key id, of every sealed table; changes nothing."""

    async def count(conn: Any, queries: Sequence[str]) -> TemplateCensus:
        clear_query, *key_queries = queries
        clear = await conn.fetchval(clear_query)
        by_column = []
        for query in key_queries:
            rows = await conn.fetch(query)
            by_column.append({row["key_id"]: row["n"] for row in rows})
        return TemplateCensus.from_columns(clear=clear, by_column=by_column)

    async def run(conn: Any) -> TemplateCensus:
        census = await count(conn, CENSUS_QUERIES)
        for queries in EMBEDDING_CENSUS_QUERIES:
            census = census.plus(await count(conn, queries))
        return census

    return await database.read(run)


class PostgresResealTable:
    """The statements of :class:`~voiceauth_adapters.sql.tables.ResealTable` on Postgres.

    Args:
        database: The connection pool.
        table: The sealed table (``users`` unless told).
    """

    def __init__(self, database: PostgresDatabase, table: SealedTable = SEALED_TABLES[0]) -> None:
        self._db = database
        self._table = table.name
        self._columns = table.reseal_columns
        self._resealed = _resealed(table)
        self._needs_resealing = _needs_resealing(table)

    async def count_to_reseal(self, key_id: bytes) -> int:
        """How many rows hold a vector in the clear, or one sealed under another key."""

        async def run(conn: Any) -> int:
            total: int = await conn.fetchval(
                f"SELECT count(*) FROM {self._table} WHERE {self._needs_resealing}", key_id
            )
            return total

        return await self._db.read(run)

    async def reseal_batch(
        self,
        key_id: bytes,
        after: Any | None,
        size: int,
        reseal: Callable[[Row], Sequence[bytes | None]],
    ) -> Sequence[Row]:
        """Lock a batch (``SELECT ... FOR UPDATE``), reseal it, return its rows."""

        async def run(conn: Any) -> Sequence[Row]:
            rows: Sequence[Row] = await conn.fetch(
                f"SELECT {self._columns} FROM {self._table}"
                f" WHERE ($2::uuid IS NULL OR id > $2::uuid) AND {self._needs_resealing}"
                " ORDER BY id LIMIT $3"
                " FOR UPDATE",
                key_id,
                after,
                size,
            )
            for row in rows:
                await conn.execute(
                    f"UPDATE {self._table} SET {self._resealed} WHERE id = $1",
                    row[0],
                    *reseal(row),
                )
            return rows

        return await self._db.write(run)


def reseal_templates(
    database: PostgresDatabase, cipher: TemplateCipher, *, batch_size: int = 500
) -> AsyncIterator[ResealProgress]:
    """Seal every vector of every sealed table under the cipher's current key, ``batch_size``
    rows per transaction; yields the progress after each (see
    :func:`~voiceauth_adapters.sql.resealing.reseal_tables`)."""
    tables = [(PostgresResealTable(database, table), table.fields) for table in SEALED_TABLES]
    return reseal_tables(tables, CODEC, cipher, batch_size=batch_size)
