"""In-memory enrolment store and attempt log, sharing one store so erasure cascades."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from voiceauth_core.attempt import Attempt
from voiceauth_core.enrollment import Enrollment, EnrollmentSample, apply_sample
from voiceauth_core.errors import PhoneNumberInUseError, UserNotFoundError
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.paging import AttemptCursor, Page, UserCursor

__all__ = ["InMemoryAttemptLog", "InMemoryStore", "InMemoryUserRepository"]


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
