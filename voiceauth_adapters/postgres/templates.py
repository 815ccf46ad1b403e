# ruff: noqa: S608
# (S608: queries are put together from this module's constant fragments only; every value is
# a bound parameter.)
"""Template protection on Postgres: how voiceprints are stored, and resealing them in batches."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.postgres.codec import decode_clear
from voiceauth_adapters.postgres.connection import PostgresDatabase
from voiceauth_adapters.sealing.census import ResealProgress, TemplateCensus
from voiceauth_adapters.sealing.columns import VECTOR_FIELDS
from voiceauth_core.identity import UserId

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["CENSUS_QUERIES", "reseal_templates", "template_census"]

_SEALED_COLUMNS = tuple(f"{column}_sealed" for column in VECTOR_FIELDS)
# Each vector's clear and sealed columns; a reseal's SET clause ($1 is the row's id).
_VECTORS = ", ".join(f"{column}, {column}_sealed" for column in VECTOR_FIELDS)
_RESEALED = ", ".join(
    f"{column} = NULL, {column}_sealed = ${index}"
    for index, column in enumerate(VECTOR_FIELDS, start=2)
)

# A row in the clear holds some vector in the clear (the condition of 0006's users_in_the_clear).
_IN_THE_CLEAR = " OR ".join(f"{column} IS NOT NULL" for column in VECTOR_FIELDS)
# A row to reseal holds a vector in the clear, or one sealed under another key than $1.
_NEEDS_RESEALING = (
    f"({_IN_THE_CLEAR}"
    + "".join(f" OR substring({column} FROM 2 FOR 4) <> $1" for column in _SEALED_COLUMNS)
    + ")"
)

#: The census's statements: the rows in the clear, then each sealed column's rows by key id;
#: each reads one of migrations 0005's and 0006's partial indexes.
CENSUS_QUERIES = (
    f"SELECT count(*) FROM users WHERE {_IN_THE_CLEAR}",
    *(
        f"SELECT encode(substring({column} FROM 2 FOR 4), 'hex') AS key_id, count(*) AS n"
        f" FROM users WHERE {column} IS NOT NULL GROUP BY substring({column} FROM 2 FOR 4)"
        for column in _SEALED_COLUMNS
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


async def reseal_templates(
    database: PostgresDatabase, cipher: TemplateCipher, *, batch_size: int = 500
) -> AsyncIterator[ResealProgress]:
    """Seal every vector under the cipher's current key, ``batch_size`` rows per transaction.

    Vectors in the clear are sealed (their arrays set NULL); those of older keys are opened and
    sealed again. Each batch locks its rows and commits on its own, so the service keeps running
    and an interruption keeps the batches done; running it again continues.

    Yields:
        The progress after each committed batch.

    Raises:
        TemplateProtectionError: A sealed vector does not open; its batch is rolled back.
        StorageUnavailableError: The database failed.
    """
    key_id = cipher.key_id

    async def count(conn: Any) -> int:
        total: int = await conn.fetchval(
            f"SELECT count(*) FROM users WHERE {_NEEDS_RESEALING}", key_id
        )
        return total

    progress = ResealProgress(total=await database.read(count))
    after = uuid.UUID(int=0)
    while True:

        async def batch(conn: Any, after: uuid.UUID = after) -> tuple[int, int, uuid.UUID | None]:
            rows = await conn.fetch(
                f"SELECT id, {_VECTORS}"
                f" FROM users WHERE id > $2 AND {_NEEDS_RESEALING} ORDER BY id LIMIT $3"
                " FOR UPDATE",
                key_id,
                after,
                batch_size,
            )
            from_clear = 0
            for row in rows:
                user_id = UserId(value=row["id"])
                resealed = [
                    cipher.reseal(
                        user_id,
                        field,
                        clear=decode_clear(row[field]),
                        sealed=row[f"{field}_sealed"],
                    )
                    for field in VECTOR_FIELDS
                ]
                await conn.execute(
                    f"UPDATE users SET {_RESEALED} WHERE id = $1", row["id"], *resealed
                )
                from_clear += any(row[field] is not None for field in VECTOR_FIELDS)
            return len(rows), from_clear, rows[-1]["id"] if rows else None

        done, from_clear, last = await database.write(batch)
        if last is None:
            return
        after = last
        progress = progress.after_batch(done=done, from_clear=from_clear)
        yield progress
