"""Verification attempts in a SQL table, the same on every dialect: newest first, keyset pages."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sql.codec import Codec
from voiceauth_adapters.sql.paging import page_of, require_limit
from voiceauth_adapters.sql.rows import Row, attempt_from_row, attempt_values
from voiceauth_adapters.sql.tables import AttemptTable
from voiceauth_core.attempt import Attempt
from voiceauth_core.errors import UserNotFoundError
from voiceauth_core.identity import UserId
from voiceauth_core.paging import AttemptCursor, Page

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["SqlAttemptLog"]


class SqlAttemptLog:
    """The ``AttemptLog`` port over a dialect's ``auth_attempts`` table.

    Args:
        table: The dialect's statements on ``auth_attempts``.
        codec: The dialect's column encodings.
        cipher: Seals the probe embedding an attempt keeps (bound to the attempt's id) and
            opens sealed ones; None keeps it in the clear.
    """

    def __init__(
        self, table: AttemptTable, codec: Codec[Any], *, cipher: TemplateCipher | None = None
    ) -> None:
        self._table = table
        self._codec = codec
        self._cipher = cipher

    async def append(self, attempt: Attempt) -> None:
        """Record an attempt of an enrolled user, and erase (in the same transaction) every
        probe whose expiry is at or before its time.

        Raises:
            UserNotFoundError: The user has no enrolment.
            StorageUnavailableError: The database is failing.
        """
        values = attempt_values(attempt, self._codec, self._cipher)
        if not await self._table.append(values, self._codec.encode_time(attempt.created_at)):
            raise UserNotFoundError(f"user {attempt.user_id} is not enrolled")

    async def get(self, attempt_id: uuid.UUID, *, now: datetime) -> Attempt | None:
        """The attempt with its probe (None once expired at ``now``), or None.

        Raises:
            TemplateProtectionError: The probe is sealed and cannot be opened.
        """
        row = await self._table.one(self._codec.encode_id(attempt_id))
        if row is None:
            return None
        attempt = attempt_from_row(row, self._codec, self._cipher)
        expires = attempt.probe_expires_at
        if expires is not None and expires <= now:  # not yet erased: no write since it expired
            return replace(attempt, probe=None, probe_expires_at=None)
        return attempt

    async def history(
        self, user_id: UserId, *, limit: int, cursor: str | None = None
    ) -> Page[Attempt]:
        """The user's attempts, newest first, ``limit`` at a time.

        Raises:
            InvalidInputError: The cursor is not one this service issued, or ``limit < 1``.
        """
        return await self._newest(limit, cursor, user_id=self._codec.encode_id(user_id.value))

    async def recent(
        self, *, limit: int, cursor: str | None = None, since: datetime | None = None
    ) -> Page[Attempt]:
        """All users' attempts, newest first, optionally only those at or after ``since``.

        Raises:
            InvalidInputError: The cursor is not one this service issued, or ``limit < 1``.
        """
        return await self._newest(
            limit, cursor, since=None if since is None else self._codec.encode_time(since)
        )

    async def _newest(
        self, limit: int, cursor: str | None, *, user_id: Any = None, since: Any = None
    ) -> Page[Attempt]:
        require_limit(limit)
        before = None
        if cursor is not None:
            after = AttemptCursor.decode(cursor)
            before = (
                self._codec.encode_time(after.created_at),
                self._codec.encode_id(after.attempt_id),
            )
        rows = await self._table.newest(
            limit=limit + 1, user_id=user_id, since=since, before=before
        )
        return page_of(
            rows,
            limit,
            self._attempt,
            lambda last: AttemptCursor(created_at=last.created_at, attempt_id=last.id).encode(),
        )

    def _attempt(self, row: Row) -> Attempt:
        return attempt_from_row(row, self._codec)
