"""Liveness challenges in a SQL table, the same on every dialect: issued, then used at most once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from voiceauth_adapters.sql.codec import Codec
from voiceauth_adapters.sql.rows import Row
from voiceauth_core.challenge import Challenge
from voiceauth_core.errors import ChallengeError, UserNotFoundError
from voiceauth_core.identity import UserId

__all__ = ["CHALLENGE_COLUMNS", "ChallengeTable", "SqlChallengeStore"]

#: The columns of ``liveness_challenges``, in the order rows are read and written.
CHALLENGE_COLUMNS = ("id", "user_id", "call_id", "digits", "issued_at", "expires_at", "used_at")
#: How long an expired challenge is kept, to tell "expired" from "unknown".
_KEEP_EXPIRED = timedelta(hours=1)


class ChallengeTable(Protocol):
    """The statements on ``liveness_challenges`` (rows of :data:`CHALLENGE_COLUMNS`).

    Every method raises ``StorageUnavailableError`` when the database fails.
    """

    async def insert(self, values: Sequence[Any], *, purge_before: Any) -> bool:
        """In one transaction: delete the rows that expired before ``purge_before``, and insert
        the row if its user is enrolled (``sample_count > 0``); False when not (nothing
        inserted)."""
        ...

    async def redeem(
        self, challenge_id: Any, user_id: Any, call_id: str | None, now: Any
    ) -> Row | None:
        """One statement: set ``used_at = now`` on the row of that id and user, unused, not
        expired at ``now``, and issued for no call or for ``call_id``; the row as updated, or
        None when no row qualified (nothing changed)."""
        ...

    async def one(self, challenge_id: Any) -> Row | None:
        """The row of that id, or None."""
        ...


class SqlChallengeStore:
    """The ``ChallengeStore`` port over a dialect's ``liveness_challenges`` table.

    Args:
        table: The dialect's statements.
        codec: The dialect's column encodings (ids and times).
    """

    def __init__(self, table: ChallengeTable, codec: Codec[Any]) -> None:
        self._table = table
        self._codec = codec

    async def issue(self, challenge: Challenge) -> None:
        """Keep the challenge (and drop those expired an hour ago).

        Raises:
            UserNotFoundError: Its user has no enrolment.
            StorageUnavailableError: The database is failing.
        """
        encode_time = self._codec.encode_time
        values = (
            self._codec.encode_id(challenge.id),
            self._codec.encode_id(challenge.user_id.value),
            challenge.call_id,
            challenge.digits,
            encode_time(challenge.issued_at),
            encode_time(challenge.expires_at),
            None if challenge.used_at is None else encode_time(challenge.used_at),
        )
        purge_before = encode_time(challenge.issued_at - _KEEP_EXPIRED)
        if not await self._table.insert(values, purge_before=purge_before):
            raise UserNotFoundError(f"user {challenge.user_id} is not enrolled")

    async def redeem(
        self, challenge_id: uuid.UUID, *, user_id: UserId, call_id: str | None, now: datetime
    ) -> Challenge:
        """Mark the user's open challenge used, in one statement, or say why it cannot be.

        Raises:
            ChallengeError: Unknown (or another user's or call's), expired or used.
            StorageUnavailableError: The database is failing.
        """
        encoded_id = self._codec.encode_id(challenge_id)
        row = await self._table.redeem(
            encoded_id,
            self._codec.encode_id(user_id.value),
            call_id,
            self._codec.encode_time(now),
        )
        if row is not None:
            return self._challenge(row)
        found = await self._table.one(encoded_id)
        challenge = None if found is None else self._challenge(found)
        if (
            challenge is None
            or challenge.user_id != user_id
            or (challenge.call_id is not None and challenge.call_id != call_id)
        ):
            raise ChallengeError("no such challenge for this user and call", reason="unknown")
        if challenge.used_at is not None:
            raise ChallengeError("the challenge was already answered", reason="used")
        raise ChallengeError("the challenge has expired", reason="expired")

    def _challenge(self, row: Row) -> Challenge:
        decode_time = self._codec.decode_time
        return Challenge(
            id=self._codec.decode_id(row[0]),
            user_id=UserId(value=self._codec.decode_id(row[1])),
            call_id=row[2],
            digits=row[3],
            issued_at=decode_time(row[4]),
            expires_at=decode_time(row[5]),
            used_at=None if row[6] is None else decode_time(row[6]),
        )
