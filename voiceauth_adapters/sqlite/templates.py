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
from voiceauth_adapters.sqlite.codec import decode_clear
from voiceauth_adapters.sqlite.connection import SqliteDatabase
from voiceauth_core.identity import UserId

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["reseal_templates", "template_census"]

#: Every vector column of ``users``, each with its sealed twin.
_CLEAR_COLUMNS = ("embedding", "embedding_sum", "phone_band_sum")
_SEALED_COLUMNS = tuple(f"{column}_sealed" for column in _CLEAR_COLUMNS)

# A row in the clear holds some vector in the clear (the condition of 0006's users_in_the_clear).
_IN_THE_CLEAR = " OR ".join(f"{column} IS NOT NULL" for column in _CLEAR_COLUMNS)
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
        "SELECT id, embedding, embedding_sealed, embedding_sum, embedding_sum_sealed,"
        " phone_band_sum, phone_band_sum_sealed"
        f" FROM users WHERE id > :after AND {_NEEDS_RESEALING} ORDER BY id LIMIT :size",
        {"key": cipher.key_id, "after": after, "size": size},
    ).fetchall()
    from_clear = 0
    for (
        ident,
        embedding,
        embedding_sealed,
        embedding_sum,
        embedding_sum_sealed,
        phone_band_sum,
        phone_band_sum_sealed,
    ) in rows:
        user_id = UserId(value=uuid.UUID(ident))
        conn.execute(
            "UPDATE users SET embedding = NULL, embedding_sealed = ?, embedding_sum = NULL,"
            " embedding_sum_sealed = ?, phone_band_sum = NULL, phone_band_sum_sealed = ?"
            " WHERE id = ?",
            (
                cipher.reseal(
                    user_id, "embedding", clear=decode_clear(embedding), sealed=embedding_sealed
                ),
                cipher.reseal(
                    user_id,
                    "embedding_sum",
                    clear=decode_clear(embedding_sum),
                    sealed=embedding_sum_sealed,
                ),
                cipher.reseal(
                    user_id,
                    "phone_band_sum",
                    clear=decode_clear(phone_band_sum),
                    sealed=phone_band_sum_sealed,
                ),
                ident,
            ),
        )
        from_clear += any(value is not None for value in (embedding, embedding_sum, phone_band_sum))
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
