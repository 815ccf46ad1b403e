"""Users: list, read, erase; a user's history; every user's recent attempts."""

from __future__ import annotations

from datetime import datetime

from litestar import delete, get
from litestar.params import Parameter

from voiceauth_core import (
    AuthHistory,
    DeleteUser,
    GetUser,
    InvalidInputError,
    ListUsers,
    QualityGate,
    RecentAttempts,
    UserId,
)
from voiceauth_web.correlation import correlation_id
from voiceauth_web.presenters import attempt_out, user_out
from voiceauth_web.schemas import AttemptPage, HistoryOut, UserOut, UserPage

__all__ = ["auth_history", "erase_user", "list_users", "read_user", "recent_attempts"]

Limit = Parameter(ge=1, le=500, default=50)


@get("/api/v1/users", tags=["users"])
async def list_users(
    list_users: ListUsers,
    gate: QualityGate,
    limit: int = Limit,
    cursor: str | None = None,
) -> UserPage:
    """Enrolled users in user-id order, a page at a time."""
    page = await list_users.execute(limit=limit, cursor=cursor)
    return UserPage(users=[user_out(e, gate=gate) for e in page.items], nextCursor=page.next_cursor)


@get("/api/v1/users/{user_id:str}", tags=["users"])
async def read_user(user_id: str, get_user: GetUser, gate: QualityGate) -> UserOut:
    """One user's enrolment (no voiceprint; the phone masked)."""
    enrollment = await get_user.execute(UserId.parse(user_id))
    return user_out(enrollment, gate=gate)


@delete("/api/v1/users/{user_id:str}", status_code=204, tags=["users"])
async def erase_user(user_id: str, delete_user: DeleteUser) -> None:
    """Erase a user's voiceprint and every attempt (the right to erasure)."""
    await delete_user.execute(UserId.parse(user_id))


@get("/api/v1/users/{user_id:str}/auth-history", tags=["users"])
async def auth_history(
    user_id: str, history: AuthHistory, limit: int = Limit, cursor: str | None = None
) -> HistoryOut:
    """A user's verification attempts, newest first."""
    page = await history.execute(UserId.parse(user_id), limit=limit, cursor=cursor)
    return HistoryOut(
        user_id=user_id,
        attempts=[attempt_out(a) for a in page.items],
        correlation_id=correlation_id(),
        next_cursor=page.next_cursor,
    )


@get("/api/v1/attempts", tags=["users"])
async def recent_attempts(
    recent: RecentAttempts,
    limit: int = Parameter(ge=1, le=500, default=100),
    cursor: str | None = None,
    since: str | None = None,
) -> AttemptPage:
    """Every user's attempts, newest first (``since``: an ISO 8601 time with its zone)."""
    when = None
    if since:
        try:
            when = datetime.fromisoformat(since)
        except ValueError:
            raise InvalidInputError("since must be an ISO 8601 time") from None
        if when.tzinfo is None:
            raise InvalidInputError("since must carry its time zone (e.g. Z or +00:00)")
    page = await recent.execute(limit=limit, cursor=cursor, since=when)
    return AttemptPage(attempts=[attempt_out(a) for a in page.items], nextCursor=page.next_cursor)
