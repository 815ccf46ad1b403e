"""Resealing every voiceprint under the current template key, batch by batch, on any dialect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sealing.census import ResealProgress
from voiceauth_adapters.sealing.columns import VECTOR_FIELDS
from voiceauth_adapters.sql.codec import Codec
from voiceauth_adapters.sql.rows import Row
from voiceauth_adapters.sql.tables import ResealTable
from voiceauth_core.identity import UserId

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["IN_THE_CLEAR", "RESEAL_COLUMNS", "SEALED_COLUMNS", "reseal_in_batches"]

#: The ``users`` columns a reseal reads: ``id``, then each vector's clear and sealed column.
RESEAL_COLUMNS = "id, " + ", ".join(f"{column}, {column}_sealed" for column in VECTOR_FIELDS)
#: The sealed column of each vector, in :data:`VECTOR_FIELDS` order.
SEALED_COLUMNS = tuple(f"{column}_sealed" for column in VECTOR_FIELDS)
#: A row holding some vector in the clear (the condition of migration 0006's
#: ``users_in_the_clear`` index).
IN_THE_CLEAR = " OR ".join(f"{column} IS NOT NULL" for column in VECTOR_FIELDS)


def _resealed(row: Row, codec: Codec[Any], cipher: TemplateCipher) -> list[bytes | None]:
    """Each vector of a row (:data:`RESEAL_COLUMNS`) sealed under the current key."""
    ident, *values = row
    user_id = UserId(value=codec.decode_id(ident))
    pairs = zip(values[0::2], values[1::2], strict=True)
    return [
        cipher.reseal(user_id, field, clear=codec.decode_clear(clear), sealed=sealed)
        for field, (clear, sealed) in zip(VECTOR_FIELDS, pairs, strict=True)
    ]


def _held_in_the_clear(row: Row) -> bool:
    return any(clear is not None for clear in row[1::2])


async def reseal_in_batches(
    table: ResealTable, codec: Codec[Any], cipher: TemplateCipher, *, batch_size: int
) -> AsyncIterator[ResealProgress]:
    """Seal every vector under the cipher's current key, ``batch_size`` rows per transaction.

    Vectors in the clear are sealed (their clear columns set NULL); those of older keys are
    opened and sealed again. Each batch locks its rows and commits on its own, so the service
    keeps running and an interruption keeps the batches done; running it again continues.

    Yields:
        The progress after each committed batch.

    Raises:
        TemplateProtectionError: A sealed vector does not open; its batch is rolled back.
        StorageUnavailableError: The database failed.
    """
    progress = ResealProgress(total=await table.count_to_reseal(cipher.key_id))
    after = None
    while True:
        rows = await table.reseal_batch(
            cipher.key_id, after, batch_size, lambda row: _resealed(row, codec, cipher)
        )
        if not rows:
            return
        after = rows[-1][0]
        progress = progress.after_batch(
            done=len(rows), from_clear=sum(_held_in_the_clear(row) for row in rows)
        )
        yield progress
