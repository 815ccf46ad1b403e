# ruff: noqa: S608
# (S608: queries are put together from this module's constant fragments only; every value is
# a bound parameter.)
"""Template protection on SQLite: how voiceprints are stored, and resealing them in batches."""

from __future__ import annotations

import functools
import sqlite3
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from voiceauth_adapters.sealing.census import ResealProgress, TemplateCensus
from voiceauth_adapters.sealing.columns import VECTOR_FIELDS
from voiceauth_adapters.sqlite.codec import decode_clear
from voiceauth_adapters.sqlite.connection import SqliteDatabase
from voiceauth_core.identity import UserId

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["reseal_templates", "template_census"]

_SEALED_COLUMNS = tuple(f"{column}_sealed" for column in VECTOR_FIELDS)

# A row in the clear holds some vector in the clear (the condition of 0006's users_in_the_clear).
_IN_THE_CLEAR = " OR ".join(f"{column} IS NOT NULL" for column in VECTOR_FIELDS)
# Each vector's clear and sealed columns, in VECTOR_FIELDS order; a reseal's SET clause.
_VECTORS = ", ".join(f"{column}, {column}_sealed" for column in VECTOR_FIELDS)
_RESEALED = ", ".join(f"{column} = NULL, {column}_sealed = ?" for column in VECTOR_FIELDS)
# A row to reseal holds a vector in the clear, or one sealed under another key than :key.
_NEEDS_RESEALING = (
    f"({_IN_THE_CLEAR}"
    + "".join(f" OR substr({column}, 2, 4) <> :key" for column in _SEALED_COLUMNS)
    + ")"
)


#: The census's statements; each reads one of migrations 0005's and 0006's indexes, not the table.
CENSUS_QUERIES = (
    f"SELECT count(*) FROM users WHERE {_IN_THE_CLEAR}",
    *(
        f"SELECT lower(hex(substr({column}, 2, 4))), count(*) FROM users"
        f" WHERE {column} IS NOT NULL GROUP BY substr({column}, 2, 4)"
        for column in _SEALED_COLUMNS
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


def _batch(
    conn: sqlite3.Connection, *, cipher: TemplateCipher, after: str, size: int
) -> tuple[int, int, str | None]:
    rows = conn.execute(
        f"SELECT id, {_VECTORS} FROM users WHERE id > :after AND {_NEEDS_RESEALING}"
        " ORDER BY id LIMIT :size",
        {"key": cipher.key_id, "after": after, "size": size},
    ).fetchall()
    from_clear = 0
    for ident, *values in rows:
        user_id = UserId(value=uuid.UUID(ident))
        pairs = list(zip(values[0::2], values[1::2], strict=True))  # (clear, sealed) per field
        resealed = [
            cipher.reseal(user_id, field, clear=decode_clear(clear), sealed=sealed)
            for field, (clear, sealed) in zip(VECTOR_FIELDS, pairs, strict=True)
        ]
        conn.execute(f"UPDATE users SET {_RESEALED} WHERE id = ?", (*resealed, ident))
        from_clear += any(clear is not None for clear, _ in pairs)
    return len(rows), from_clear, rows[-1][0] if rows else None


async def reseal_templates(
    database: SqliteDatabase, cipher: TemplateCipher, *, batch_size: int = 500
) -> AsyncIterator[ResealProgress]:
    """Seal every vector under the cipher's current key, ``batch_size`` rows per transaction.

    The same as the Postgres adapter's: each batch is one ``BEGIN IMMEDIATE`` transaction, so
    the service can keep writing between batches and an interruption keeps the batches done.

    Yields:
        The progress after each committed batch.

    Raises:
        TemplateProtectionError: A sealed vector does not open; its batch is rolled back.
        StorageUnavailableError: The database failed.
    """
    (total,) = await database.read(
        lambda conn: conn.execute(
            f"SELECT count(*) FROM users WHERE {_NEEDS_RESEALING}", {"key": cipher.key_id}
        ).fetchone()
    )
    progress = ResealProgress(total=total)
    after = ""
    while True:
        done, from_clear, last = await database.write(
            functools.partial(_batch, cipher=cipher, after=after, size=batch_size)
        )
        if last is None:
            return
        after = last
        progress = progress.after_batch(done=done, from_clear=from_clear)
        yield progress
