"""The fraud watchlist in a SQL table, the same on every dialect: newest first, keyset pages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sql.codec import Codec
from voiceauth_adapters.sql.paging import page_of, require_limit
from voiceauth_adapters.sql.rows import Row, entry_from_row, entry_values
from voiceauth_adapters.sql.tables import WatchlistTable
from voiceauth_core.paging import AttemptCursor, Page
from voiceauth_core.watchlist import WatchlistEntry

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["SqlWatchlist"]


class SqlWatchlist:
    """The ``Watchlist`` port over a dialect's ``watchlist_entries`` table.

    Pages are ordered newest first and use the attempts' cursor (a time, then an id).

    Args:
        table: The dialect's statements on ``watchlist_entries``.
        codec: The dialect's column encodings.
        cipher: Seals every embedding written (bound to the entry's id) and opens sealed ones;
            None stores them in the clear. Entries in the clear are read either way.
    """

    def __init__(
        self, table: WatchlistTable, codec: Codec[Any], *, cipher: TemplateCipher | None = None
    ) -> None:
        self._table = table
        self._codec = codec
        self._cipher = cipher

    def _entry(self, row: Row) -> WatchlistEntry:
        return entry_from_row(row, self._codec, self._cipher)

    async def add(self, entry: WatchlistEntry) -> None:
        """Add the entry (sealed with a cipher).

        Raises:
            StorageUnavailableError: The database is failing.
        """
        await self._table.insert(entry_values(entry, self._codec, self._cipher))

    async def get(self, entry_id: uuid.UUID) -> WatchlistEntry | None:
        """The entry, or None."""
        row = await self._table.one(self._codec.encode_id(entry_id))
        return None if row is None else self._entry(row)

    async def list(self, *, limit: int, cursor: str | None = None) -> Page[WatchlistEntry]:
        """Entries, newest first, ``limit`` at a time.

        Raises:
            InvalidInputError: The cursor is not one this service issued, or ``limit < 1``.
        """
        require_limit(limit)
        before = None
        if cursor is not None:
            after = AttemptCursor.decode(cursor)
            before = (
                self._codec.encode_time(after.created_at),
                self._codec.encode_id(after.attempt_id),
            )
        rows = await self._table.newest(limit=limit + 1, before=before)
        return page_of(
            rows,
            limit,
            self._entry,
            lambda last: AttemptCursor(created_at=last.created_at, attempt_id=last.id).encode(),
        )

    async def delete(self, entry_id: uuid.UUID) -> bool:
        """Erase the entry and its embedding; False if there was none."""
        return await self._table.delete(self._codec.encode_id(entry_id))

    async def entries(self) -> Sequence[WatchlistEntry]:
        """Every entry.

        Raises:
            TemplateProtectionError: A sealed embedding cannot be opened.
        """
        return [self._entry(row) for row in await self._table.every()]

    async def revision(self) -> int:
        """The number every write moves on."""
        return await self._table.revision()
