"""What a dialect runs on its tables: the statements the shared store logic needs, and no logic.

Values come in encoded by the dialect's :class:`~voiceauth_adapters.sql.codec.Codec`; rows go
back as the driver returns them, their columns in the order of
:mod:`voiceauth_adapters.sql.rows`. Every method raises ``StorageUnavailableError`` when the
database fails, and runs a write in one transaction: all of it or none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar

from voiceauth_adapters.sql.rows import Row

__all__ = ["AttemptTable", "ResealTable", "UserTable", "WatchlistTable"]

T = TypeVar("T")


class UserTable(Protocol):
    """The statements on ``users`` (rows of :data:`~voiceauth_adapters.sql.rows.USER_COLUMNS`)."""

    async def enrolled(self, column: Literal["id", "phone"], value: Any) -> Row | None:
        """The row whose ``column`` is ``value``, if it holds samples (``sample_count > 0``)."""
        ...

    async def enrolled_after(self, after: Any | None, limit: int) -> Sequence[Row]:
        """Up to ``limit`` rows holding samples, in id order, after id ``after`` (None: first)."""
        ...

    async def save(
        self, user_id: Any, now: Any, merge: Callable[[Row | None], tuple[T, Sequence[Any]]]
    ) -> T:
        """In one transaction: the user's row, locked against every other ``save`` of the same
        user, passed to ``merge`` (None when there is none), then the
        :data:`~voiceauth_adapters.sql.rows.USER_WRITTEN` values it returns written to it (a
        row made if needed, ``now`` as its times until then); returns what ``merge`` returned.
        What ``merge`` raises leaves nothing written.

        Raises:
            PhoneNumberInUseError: The phone number written is another user's; nothing written.
        """
        ...

    async def delete(self, user_id: Any) -> bool:
        """Erase the user's row and (by ``ON DELETE CASCADE``) attempts; False unless it held
        samples."""
        ...


class AttemptTable(Protocol):
    """The statements on ``auth_attempts`` (rows of
    :data:`~voiceauth_adapters.sql.rows.ATTEMPT_COLUMNS`)."""

    async def append(self, values: Sequence[Any], expire_before: Any) -> bool:
        """Insert the :data:`~voiceauth_adapters.sql.rows.ATTEMPT_WRITTEN` values if their user
        holds samples; False, and nothing written, if not. In the same transaction, erase the
        probe columns of every row whose ``probe_expires_at`` is at or before
        ``expire_before``."""
        ...

    async def one(self, attempt_id: Any) -> Row | None:
        """The row of that id (:data:`~voiceauth_adapters.sql.rows.ATTEMPT_COLUMNS` then
        :data:`~voiceauth_adapters.sql.rows.PROBE_COLUMNS`), or None."""
        ...

    async def newest(
        self,
        *,
        limit: int,
        user_id: Any | None = None,
        since: Any | None = None,
        before: tuple[Any, Any] | None = None,
    ) -> Sequence[Row]:
        """Up to ``limit`` rows of enrolled users, newest first (``created_at``, then ``id``,
        descending): of ``user_id`` only if given, created at or after ``since`` if given,
        and strictly before the ``(created_at, id)`` position ``before`` if given."""
        ...


class WatchlistTable(Protocol):
    """The statements on ``watchlist_entries`` (rows of
    :data:`~voiceauth_adapters.sql.rows.WATCHLIST_COLUMNS`) and ``watchlist_revision``."""

    async def insert(self, values: Sequence[Any]) -> None:
        """Insert an entry and move the revision on, in one transaction."""
        ...

    async def one(self, entry_id: Any) -> Row | None:
        """The entry's row, or None."""
        ...

    async def newest(self, *, limit: int, before: tuple[Any, Any] | None = None) -> Sequence[Row]:
        """Up to ``limit`` rows, newest first (``created_at``, then ``id``, descending),
        strictly before the ``(created_at, id)`` position ``before`` if given."""
        ...

    async def delete(self, entry_id: Any) -> bool:
        """Erase the entry and move the revision on, in one transaction; False if there was
        none (nothing changed)."""
        ...

    async def every(self) -> Sequence[Row]:
        """Every row."""
        ...

    async def revision(self) -> int:
        """The ``watchlist_revision`` number."""
        ...


class ResealTable(Protocol):
    """The statements that reseal ``users`` rows: ``id``, then each of
    :data:`~voiceauth_adapters.sealing.columns.VECTOR_FIELDS`'s clear and sealed columns."""

    async def count_to_reseal(self, key_id: bytes) -> int:
        """How many rows hold a vector in the clear, or one sealed under another key."""
        ...

    async def reseal_batch(
        self,
        key_id: bytes,
        after: Any | None,
        size: int,
        reseal: Callable[[Row], Sequence[bytes | None]],
    ) -> Sequence[Row]:
        """In one transaction: lock up to ``size`` rows to reseal (see :meth:`count_to_reseal`)
        in id order after id ``after`` (None: the first), write into each row's sealed columns
        the values ``reseal`` gives (its clear columns NULL), and return the rows as they were.
        What ``reseal`` raises leaves nothing written.
        """
        ...
