# ruff: noqa: S608
# (S608: queries are put together from this module's constant fragments only; every value is
# a bound parameter.)
"""Template protection on Postgres: the census and reseal statements over ``users``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.postgres.codec import CODEC
from voiceauth_adapters.sealing.census import ResealProgress, TemplateCensus
from voiceauth_adapters.sealing.columns import VECTOR_FIELDS
from voiceauth_adapters.sql.resealing import (
    IN_THE_CLEAR,
    RESEAL_COLUMNS,
    SEALED_COLUMNS,
    reseal_in_batches,
)
from voiceauth_adapters.sql.rows import Row

if TYPE_CHECKING:
    from voiceauth_adapters.postgres.connection import PostgresDatabase
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["CENSUS_QUERIES", "PostgresResealTable", "reseal_templates", "template_census"]

# A reseal's SET clause ($1 is the row's id).
_RESEALED = ", ".join(
    f"{column} = NULL, {column}_sealed = ${index}"
    for index, column in enumerate(VECTOR_FIELDS, start=2)
)
# A row to reseal holds a vector in the clear, or one sealed under another key than $1.
_NEEDS_RESEALING = (
    f"({IN_THE_CLEAR}"
    + "".join(f" OR substring({column} FROM 2 FOR 4) <> $1" for column in SEALED_COLUMNS)
    + ")"
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


async def template_census(database: PostgresDatabase) -> TemplateCensus:
    """Rows in the clear, and rows sealed by key id; changes nothing."""

    async def run(conn: Any) -> TemplateCensus:
        clear_query, *key_queries = CENSUS_QUERIES
        clear = await conn.fetchval(clear_query)
        by_column = []
        for query in key_queries:
            rows = await conn.fetch(query)
            by_column.append({row["key_id"]: row["n"] for row in rows})
        return TemplateCensus.from_columns(clear=clear, by_column=by_column)

    return await database.read(run)


class PostgresResealTable:
    """The statements of :class:`~voiceauth_adapters.sql.tables.ResealTable` on Postgres."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def count_to_reseal(self, key_id: bytes) -> int:
        """How many rows hold a vector in the clear, or one sealed under another key."""

        async def run(conn: Any) -> int:
            total: int = await conn.fetchval(
                f"SELECT count(*) FROM users WHERE {_NEEDS_RESEALING}", key_id
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
                f"SELECT {RESEAL_COLUMNS}"
                f" FROM users WHERE ($2::uuid IS NULL OR id > $2::uuid) AND {_NEEDS_RESEALING}"
                " ORDER BY id LIMIT $3"
                " FOR UPDATE",
                key_id,
                after,
                size,
            )
            for row in rows:
                await conn.execute(
                    f"UPDATE users SET {_RESEALED} WHERE id = $1", row[0], *reseal(row)
                )
            return rows

        return await self._db.write(run)


def reseal_templates(
    database: PostgresDatabase, cipher: TemplateCipher, *, batch_size: int = 500
) -> AsyncIterator[ResealProgress]:
    """Seal every vector under the cipher's current key, ``batch_size`` rows per transaction;
    yields the progress after each (see :func:`~voiceauth_adapters.sql.reseal_in_batches`)."""
    return reseal_in_batches(PostgresResealTable(database), CODEC, cipher, batch_size=batch_size)
