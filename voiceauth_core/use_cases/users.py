"""Reading and erasing users: list, get, history, delete."""

from __future__ import annotations

from datetime import datetime

from voiceauth_core.attempt import Attempt
from voiceauth_core.enrollment import Enrollment
from voiceauth_core.errors import InvalidInputError, UserNotFoundError
from voiceauth_core.identity import UserId
from voiceauth_core.paging import Page
from voiceauth_core.ports import AttemptLog, UserRepository

__all__ = ["AuthHistory", "DeleteUser", "GetUser", "ListUsers", "RecentAttempts"]

#: The largest page any listing returns.
MAX_PAGE = 500


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(f"limit must lie between 1 and {MAX_PAGE}")


class GetUser:
    """One user's enrolment."""

    def __init__(self, *, users: UserRepository) -> None:
        self._users = users

    async def execute(self, user_id: UserId) -> Enrollment:
        """The enrolment.

        Raises:
            UserNotFoundError: The user is not enrolled.
        """
        enrollment = await self._users.get(user_id)
        if enrollment is None:
            raise UserNotFoundError(f"user {user_id} is not enrolled")
        return enrollment


class ListUsers:
    """Enrolled users, a page at a time."""

    def __init__(self, *, users: UserRepository) -> None:
        self._users = users

    async def execute(self, *, limit: int = 50, cursor: str | None = None) -> Page[Enrollment]:
        """A page of enrolments ordered by user id."""
        _check_limit(limit)
        return await self._users.list(limit=limit, cursor=cursor)


class AuthHistory:
    """A user's verification attempts, newest first."""

    def __init__(self, *, users: UserRepository, attempts: AttemptLog) -> None:
        self._users = users
        self._attempts = attempts

    async def execute(
        self, user_id: UserId, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Attempt]:
        """A page of the user's attempts.

        Raises:
            UserNotFoundError: The user is not enrolled.
        """
        _check_limit(limit)
        if await self._users.get(user_id) is None:
            raise UserNotFoundError(f"user {user_id} is not enrolled")
        return await self._attempts.history(user_id, limit=limit, cursor=cursor)


class DeleteUser:
    """Erase a user's voiceprint and attempts (the right to erasure)."""

    def __init__(self, *, users: UserRepository) -> None:
        self._users = users

    async def execute(self, user_id: UserId) -> None:
        """Erase everything kept about the user.

        Raises:
            UserNotFoundError: The user is not enrolled.
        """
        if not await self._users.delete(user_id):
            raise UserNotFoundError(f"user {user_id} is not enrolled")


class RecentAttempts:
    """Every user's attempts, newest first: what an operator's analytics reads."""

    def __init__(self, *, attempts: AttemptLog) -> None:
        self._attempts = attempts

    async def execute(
        self, *, limit: int = 100, cursor: str | None = None, since: datetime | None = None
    ) -> Page[Attempt]:
        """A page of attempts, optionally only those at or after ``since``."""
        _check_limit(limit)
        return await self._attempts.recent(limit=limit, cursor=cursor, since=since)
