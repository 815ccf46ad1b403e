"""In-memory adapters: an enrolment store and attempt log, a watchlist, an audio source, a
clock, a voiceprint index.

Real, small implementations of the ``UserRepository``, ``AttemptLog``, ``Watchlist``,
``AudioSource``, ``Clock`` and ``VoiceprintIndex`` ports, in pure Python. Library users may run
``Enroll`` and ``Verify`` on them without a database (the eval tool does, over a corpus); tests
use them through ``voiceauth_core.testing``, which re-exports them under the same names.
Nothing here persists beyond the process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from voiceauth_core.attempt import Attempt
from voiceauth_core.audio import Audio
from voiceauth_core.challenge import Challenge
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment, EnrollmentSample, apply_sample
from voiceauth_core.errors import (
    ChallengeError,
    InvalidInputError,
    PhoneNumberInUseError,
    UserNotFoundError,
    VoiceAuthError,
)
from voiceauth_core.identification import IndexHit, check_index_model
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.paging import AttemptCursor, Page, UserCursor
from voiceauth_core.watchlist import WatchlistEntry

__all__ = [
    "InMemoryAttemptLog",
    "InMemoryAudioSource",
    "InMemoryChallengeStore",
    "InMemoryStore",
    "InMemoryUserRepository",
    "InMemoryVoiceprintEvents",
    "InMemoryVoiceprintIndex",
    "ManualClock",
]


# The enrolment store and the attempt log, sharing one store so that erasure cascades.


@dataclass(slots=True)
class InMemoryStore:
    """What the two in-memory adapters keep."""

    enrollments: dict[uuid.UUID, Enrollment] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    watchlist: dict[uuid.UUID, WatchlistEntry] = field(default_factory=dict)
    watchlist_revision: int = 0
    challenges: dict[uuid.UUID, Challenge] = field(default_factory=dict)


def _newest_first(attempt: Attempt) -> tuple[datetime, str]:
    return attempt.created_at, str(attempt.id)


def _attempt_page(attempts: list[Attempt], limit: int, cursor: str | None) -> Page[Attempt]:
    ordered = sorted(attempts, key=_newest_first, reverse=True)
    if cursor is not None:
        after = AttemptCursor.decode(cursor)
        key = (after.created_at, str(after.attempt_id))
        ordered = [a for a in ordered if _newest_first(a) < key]
    # A listing never carries the voice (the SQL stores do not read it either).
    items = [replace(a, probe=None, probe_expires_at=None) for a in ordered[:limit]]
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
            self.store.challenges = {
                key: c for key, c in self.store.challenges.items() if c.user_id != user_id
            }
            return True


class InMemoryAttemptLog:
    """Keeps attempts in a list."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    async def append(self, attempt: Attempt) -> None:
        """Record the attempt of an enrolled user."""
        if attempt.user_id.value not in self.store.enrollments:
            raise UserNotFoundError(f"user {attempt.user_id} is not enrolled")
        now = attempt.created_at
        self.store.attempts = [
            replace(a, probe=None, probe_expires_at=None)
            if a.probe_expires_at is not None and a.probe_expires_at <= now
            else a
            for a in self.store.attempts
        ]
        self.store.attempts.append(attempt)

    async def get(self, attempt_id: uuid.UUID, *, now: datetime) -> Attempt | None:
        """The attempt, its probe dropped once expired at ``now``."""
        found = next((a for a in self.store.attempts if a.id == attempt_id), None)
        expires = None if found is None else found.probe_expires_at
        if found is not None and expires is not None and expires <= now:
            return replace(found, probe=None, probe_expires_at=None)
        return found

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


class InMemoryWatchlist:
    """Keeps watchlist entries in a dict; every write moves the revision on."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    async def add(self, entry: WatchlistEntry) -> None:
        """Add the entry."""
        self.store.watchlist[entry.id] = entry
        self.store.watchlist_revision += 1

    async def get(self, entry_id: uuid.UUID) -> WatchlistEntry | None:
        """The entry, or None."""
        return self.store.watchlist.get(entry_id)

    async def list(self, *, limit: int, cursor: str | None = None) -> Page[WatchlistEntry]:
        """Entries, newest first (the attempts' cursor: time, then id)."""
        if limit < 1:
            raise InvalidInputError("limit must be at least 1")
        ordered = sorted(
            self.store.watchlist.values(), key=lambda e: (e.created_at, str(e.id)), reverse=True
        )
        if cursor is not None:
            after = AttemptCursor.decode(cursor)
            key = (after.created_at, str(after.attempt_id))
            ordered = [e for e in ordered if (e.created_at, str(e.id)) < key]
        items = ordered[:limit]
        next_cursor = (
            AttemptCursor(created_at=items[-1].created_at, attempt_id=items[-1].id).encode()
            if len(ordered) > limit
            else None
        )
        return Page(items=items, next_cursor=next_cursor)

    async def delete(self, entry_id: uuid.UUID) -> bool:
        """Erase the entry."""
        if self.store.watchlist.pop(entry_id, None) is None:
            return False
        self.store.watchlist_revision += 1
        return True

    async def entries(self) -> Sequence[WatchlistEntry]:
        """Every entry."""
        return list(self.store.watchlist.values())

    async def revision(self) -> int:
        """Moves on with every write."""
        return self.store.watchlist_revision


class InMemoryChallengeStore:
    """Keeps liveness challenges in a dict; ``redeem`` is atomic (no await inside it)."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    async def issue(self, challenge: Challenge) -> None:
        """Keep the challenge of an enrolled user."""
        if challenge.user_id.value not in self.store.enrollments:
            raise UserNotFoundError(f"user {challenge.user_id} is not enrolled")
        self.store.challenges[challenge.id] = challenge

    async def redeem(
        self, challenge_id: uuid.UUID, *, user_id: UserId, call_id: str | None, now: datetime
    ) -> Challenge:
        """Mark the user's open challenge used, or say why it cannot be."""
        found = self.store.challenges.get(challenge_id)
        if (
            found is None
            or found.user_id != user_id
            or (found.call_id is not None and found.call_id != call_id)
        ):
            raise ChallengeError("no such challenge for this user and call", reason="unknown")
        if found.used_at is not None:
            raise ChallengeError("the challenge was already answered", reason="used")
        if now >= found.expires_at:
            raise ChallengeError("the challenge has expired", reason="expired")
        used = replace(found, used_at=now)
        self.store.challenges[challenge_id] = used
        return used


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


# A voiceprint index that compares the probe with every voiceprint, one by one.


class InMemoryVoiceprintIndex:
    """Holds each user's centroid and searches by exhaustive cosine, in pure Python.

    Args:
        model_id: The model whose voiceprints it holds.
    """

    def __init__(self, model_id: str) -> None:
        self._model_id = model_id
        self.voiceprints: dict[uuid.UUID, Embedding] = {}

    @property
    def model_id(self) -> str:
        """The model whose voiceprints it holds."""
        return self._model_id

    async def count(self) -> int:
        """How many voiceprints it holds."""
        return len(self.voiceprints)

    async def members(self) -> list[uuid.UUID]:
        """The ids of the users it holds."""
        return list(self.voiceprints)

    async def search(self, probe: Embedding, *, limit: int) -> list[IndexHit]:
        """The ``limit`` closest voiceprints, best first, ties by user id."""
        if limit < 1:
            raise InvalidInputError("a search returns at least one voiceprint")
        check_index_model(probe, self._model_id)
        hits = [
            IndexHit(user_id=UserId(value=value), cosine=voiceprint.cosine(probe))
            for value, voiceprint in self.voiceprints.items()
        ]
        hits.sort(key=lambda hit: (-hit.cosine, hit.user_id.value))
        return hits[:limit]

    async def put(self, enrollment: Enrollment) -> None:
        """Hold the enrolment's centroid (or drop the user's if it is of another model)."""
        if enrollment.model_id != self._model_id:
            self.voiceprints.pop(enrollment.user_id.value, None)
            return
        self.voiceprints[enrollment.user_id.value] = enrollment.centroid

    async def remove(self, user_id: UserId) -> None:
        """Forget the user's voiceprint."""
        self.voiceprints.pop(user_id.value, None)


class InMemoryVoiceprintEvents:
    """Delivers each published user id to every subscriber of this object (one process)."""

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[UserId]] = []
        self.published: list[UserId] = []

    async def publish(self, user_id: UserId) -> None:
        """Queue ``user_id`` for every current subscriber."""
        self.published.append(user_id)
        for queue in self._queues:
            queue.put_nowait(user_id)

    async def subscribe(self) -> AsyncGenerator[UserId | None, None]:
        """None once subscribed, then each user id published from then on."""
        queue: asyncio.Queue[UserId] = asyncio.Queue()
        self._queues.append(queue)
        try:
            yield None
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)
