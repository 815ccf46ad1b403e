"""Resealing every voiceprint under the current template key, batch by batch, on any dialect."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sealing.census import ResealProgress
from voiceauth_adapters.sealing.columns import PROBE_FIELDS, VECTOR_FIELDS, WATCHLIST_FIELDS
from voiceauth_adapters.sql.codec import Codec
from voiceauth_adapters.sql.rows import Row
from voiceauth_adapters.sql.tables import ResealTable
from voiceauth_core.identity import UserId

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import Field, TemplateCipher

__all__ = [
    "IN_THE_CLEAR",
    "RESEAL_COLUMNS",
    "SEALED_COLUMNS",
    "SEALED_TABLES",
    "SealedTable",
    "reseal_in_batches",
    "reseal_tables",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SealedTable:
    """A table whose rows hold sealed vectors, each bound to the row's own ``id``.

    Args:
        name: The table.
        fields: Its vector columns, each beside its ``<name>_sealed`` twin.
    """

    name: str
    fields: tuple[Field, ...]

    @property
    def reseal_columns(self) -> str:
        """The columns a reseal reads: ``id``, then each vector's clear and sealed column."""
        return "id, " + ", ".join(f"{column}, {column}_sealed" for column in self.fields)

    @property
    def sealed_columns(self) -> tuple[str, ...]:
        """The sealed column of each vector, in :attr:`fields` order."""
        return tuple(f"{column}_sealed" for column in self.fields)

    @property
    def in_the_clear(self) -> str:
        """The condition of a row holding some vector in the clear."""
        return " OR ".join(f"{column} IS NOT NULL" for column in self.fields)


#: Every table holding sealed vectors: enrolments (bound to the user's id), watchlist entries
#: (the entry's id) and the probe embeddings attempts keep (the attempt's id).
SEALED_TABLES = (
    SealedTable(name="users", fields=VECTOR_FIELDS),
    SealedTable(name="watchlist_entries", fields=WATCHLIST_FIELDS),
    SealedTable(name="auth_attempts", fields=PROBE_FIELDS),
)

#: The ``users`` columns a reseal reads: ``id``, then each vector's clear and sealed column.
RESEAL_COLUMNS = SEALED_TABLES[0].reseal_columns
#: The sealed column of each vector, in :data:`VECTOR_FIELDS` order.
SEALED_COLUMNS = SEALED_TABLES[0].sealed_columns
#: A row holding some vector in the clear (the condition of migration 0006's
#: ``users_in_the_clear`` index).
IN_THE_CLEAR = SEALED_TABLES[0].in_the_clear


def _resealed(
    row: Row, codec: Codec[Any], cipher: TemplateCipher, fields: Sequence[Field]
) -> list[bytes | None]:
    """Each vector of a row (``id``, then each field's clear and sealed column) sealed under the
    current key."""
    ident, *values = row
    owner = UserId(value=codec.decode_id(ident))
    pairs = zip(values[0::2], values[1::2], strict=True)
    return [
        cipher.reseal(owner, field, clear=codec.decode_clear(clear), sealed=sealed)
        for field, (clear, sealed) in zip(fields, pairs, strict=True)
    ]


def _held_in_the_clear(row: Row) -> bool:
    return any(clear is not None for clear in row[1::2])


async def reseal_in_batches(
    table: ResealTable, codec: Codec[Any], cipher: TemplateCipher, *, batch_size: int
) -> AsyncIterator[ResealProgress]:
    """Seal every ``users`` vector under the cipher's current key, ``batch_size`` rows per
    transaction (see :func:`reseal_tables`)."""
    async for progress in reseal_tables(
        ((table, VECTOR_FIELDS),), codec, cipher, batch_size=batch_size
    ):
        yield progress


async def reseal_tables(
    tables: Sequence[tuple[ResealTable, Sequence[Field]]],
    codec: Codec[Any],
    cipher: TemplateCipher,
    *,
    batch_size: int,
) -> AsyncIterator[ResealProgress]:
    """Seal every vector of ``tables`` (each with its fields) under the cipher's current key,
    ``batch_size`` rows per transaction, one table after the other.

    Vectors in the clear are sealed (their clear columns set NULL); those of older keys are
    opened and sealed again. Each batch locks its rows and commits on its own, so the service
    keeps running and an interruption keeps the batches done; running it again continues.

    Yields:
        The progress after each committed batch (its total counts the rows of every table).

    Raises:
        TemplateProtectionError: A sealed vector does not open; its batch is rolled back.
        StorageUnavailableError: The database failed.
    """
    total = 0
    for table, _ in tables:
        total += await table.count_to_reseal(cipher.key_id)
    progress = ResealProgress(total=total)
    for table, fields in tables:
        after = None
        while True:
            reseal = functools.partial(_resealed, codec=codec, cipher=cipher, fields=fields)
            rows = await table.reseal_batch(cipher.key_id, after, batch_size, reseal)
            if not rows:
                break
            after = rows[-1][0]
            progress = progress.after_batch(
                done=len(rows), from_clear=sum(_held_in_the_clear(row) for row in rows)
            )
            yield progress
