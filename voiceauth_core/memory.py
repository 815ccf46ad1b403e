"""In-memory adapters: an enrolment store and attempt log, an audio source and a clock.

Real, small implementations of the ``UserRepository``, ``AttemptLog``, ``AudioSource`` and
``Clock`` ports, in pure Python. Library users may run ``Enroll`` and ``Verify`` on them without a
database (the eval tool does, over a corpus); tests use them through ``voiceauth_core.testing``,
which re-exports them under the same names. Nothing here persists beyond the process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from voiceauth_core.attempt import Attempt
from voiceauth_core.audio import Audio
from voiceauth_core.enrollment import Enrollment, EnrollmentSample, apply_sample
from voiceauth_core.errors import PhoneNumberInUseError, UserNotFoundError, VoiceAuthError
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.paging import AttemptCursor, Page, UserCursor

__all__ = [
    "InMemoryAttemptLog",
    "InMemoryAudioSource",
    "InMemoryStore",
    "InMemoryUserRepository",
    "ManualClock",
]


# The enrolment store and the attempt log, sharing one store so that erasure cascades.


@dataclass(slots=True)
class InMemoryStore:
    """What the two in-memory adapters keep."""

    enrollments: dict[uuid.UUID, Enrollment] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _newest_first(attempt: Attempt) -> tuple[datetime, str]:
    return attempt.created_at, str(attempt.id)


def _attempt_page(attempts: list[Attempt], limit: int, cursor: str | None) -> Page[Attempt]:
    ordered = sorted(attempts, key=_newest_first, reverse=True)
    if cursor is not None:
        after = AttemptCursor.decode(cursor)
        key = (after.created_at, str(after.attempt_id))
        ordered = [a for a in ordered if _newest_first(a) < key]
    items = ordered[:limit]
    more = len(ordered) > limit
    last = items[-1] if items else None
    next_cursor = (
        AttemptCursor(created_at=last.created_at, attempt_id=last.id).encode()
        if more and last
        else None
    )
    return Page(items=items, next_cursor=next_cursor)


class InMemoryUserRepository:
    """Keeps enrolments in a dict; ``save_sample`` is atomic under one lock."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    async def get(self, user_id: UserId) -> Enrollment | None:
        """The user's enrolment, or None."""
        return self.store.enrollments.get(user_id.value)

    async def find_by_phone(self, phone: PhoneNumber) -> Enrollment | None:
        """The enrolment with this phone number, or None."""
        return next((e for e in self.store.enrollments.values() if e.phone == phone), None)

    async def save_sample(
        self,
        user_id: UserId,
        phone: PhoneNumber | None,
        sample: EnrollmentSample,
        *,
        now: datetime,
        replace: bool,
    ) -> Enrollment:
        """Add the sample (or start afresh when ``replace``), atomically."""
        async with self.store.lock:
            if phone is not None:
                owner = await self.find_by_phone(phone)
                if owner is not None and owner.user_id != user_id:
                    raise PhoneNumberInUseError("that phone number is enrolled for another user")
            updated = apply_sample(
                self.store.enrollments.get(user_id.value),
                user_id=user_id,
                phone=phone,
                sample=sample,
                now=now,
                replace=replace,
            )
            self.store.enrollments[user_id.value] = updated
            return updated

    async def list(self, *, limit: int, cursor: str | None = None) -> Page[Enrollment]:
        """Enrolments ordered by user id."""
        ordered = sorted(self.store.enrollments.values(), key=lambda e: e.user_id.value)
        if cursor is not None:
            after = UserCursor.decode(cursor).user_id
            ordered = [e for e in ordered if e.user_id.value > after]
        items = ordered[:limit]
        more = len(ordered) > limit
        next_cursor = UserCursor(user_id=items[-1].user_id.value).encode() if more else None
        return Page(items=items, next_cursor=next_cursor)

    async def delete(self, user_id: UserId) -> bool:
        """Erase the enrolment and the user's attempts."""
        async with self.store.lock:
            if self.store.enrollments.pop(user_id.value, None) is None:
                return False
            self.store.attempts = [a for a in self.store.attempts if a.user_id != user_id]
            return True


class InMemoryAttemptLog:
    """Keeps attempts in a list."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    async def append(self, attempt: Attempt) -> None:
        """Record the attempt of an enrolled user."""
        if attempt.user_id.value not in self.store.enrollments:
            raise UserNotFoundError(f"user {attempt.user_id} is not enrolled")
        self.store.attempts.append(attempt)

    async def history(
        self, user_id: UserId, *, limit: int, cursor: str | None = None
    ) -> Page[Attempt]:
        """The user's attempts, newest first."""
        mine = [a for a in self.store.attempts if a.user_id == user_id]
        return _attempt_page(mine, limit, cursor)

    async def recent(
        self, *, limit: int, cursor: str | None = None, since: datetime | None = None
    ) -> Page[Attempt]:
        """All attempts, newest first, optionally since a time."""
        chosen = [a for a in self.store.attempts if since is None or a.created_at >= since]
        return _attempt_page(chosen, limit, cursor)


# An audio source over audio already in memory.


class InMemoryAudioSource:
    """Serves one recording whole or in chunks (the failure knobs are for tests).

    Args:
        audio: The recording (at 16 kHz).
        channel: The channel name it reports.
        live: Whether it behaves as a live capture.
        chunk_s: Chunk length for :meth:`stream` (20 ms, like a call's frames).
        error: Raised by :meth:`fetch`, or by :meth:`stream` after ``error_after_s`` of audio.
        error_after_s: Audio served before ``error`` is raised from the stream.
    """

    def __init__(
        self,
        audio: Audio,
        *,
        channel: str = "upload",
        live: bool = False,
        chunk_s: float = 0.02,
        error: VoiceAuthError | None = None,
        error_after_s: float = 0.0,
    ) -> None:
        self._audio = audio
        self._channel = channel
        self._live = live
        self._chunk_s = chunk_s
        self._error = error
        self._error_after_s = error_after_s
        self.served_s = 0.0
        self.closed = False

    @property
    def channel(self) -> str:
        """The configured channel name."""
        return self._channel

    @property
    def live(self) -> bool:
        """Whether this source behaves as a live capture."""
        return self._live

    async def fetch(self) -> Audio:
        """The whole recording, or the configured error."""
        if self._error is not None:
            raise self._error
        self.served_s = self._audio.duration
        return self._audio

    async def stream(self) -> AsyncGenerator[Audio, None]:
        """Chunks of ``chunk_s``; the configured error after ``error_after_s``."""
        try:
            start = 0.0
            while start < self._audio.duration:
                if self._error is not None and start >= self._error_after_s:
                    raise self._error
                chunk = self._audio.slice(start, start + self._chunk_s)
                self.served_s += chunk.duration
                start += self._chunk_s
                yield chunk
            if self._error is not None:
                raise self._error
        finally:
            self.closed = True


# A clock that moves only when told to.


class ManualClock:
    """Starts at a fixed time; :meth:`advance` moves it; every ``now()`` ticks one microsecond.

    The tick keeps successive events strictly ordered, as on a real clock; a run on it stamps
    the same times each time (the eval tool's reports, tests).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """The current fake time."""
        self._now += timedelta(microseconds=1)
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self._now += timedelta(seconds=seconds)
