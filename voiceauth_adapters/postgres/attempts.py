# ruff: noqa: S608
# (S608: queries are put together from this module's constant fragments only; every value is
# a bound parameter.)
"""Verification attempts in Postgres: appended, read newest first with keyset pagination."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from voiceauth_adapters.postgres.connection import PostgresDatabase
from voiceauth_core.attempt import Attempt, Decision
from voiceauth_core.errors import InvalidInputError, UserNotFoundError
from voiceauth_core.identity import UserId
from voiceauth_core.paging import AttemptCursor, Page

__all__ = ["PostgresAttemptLog"]

_COLUMNS = (
    "id, user_id, decision, score, raw_score, speech_seconds, channel, correlation_id,"
    " created_at, error"
)


def _attempt(row: Any) -> Attempt:
    return Attempt(
        id=row["id"],
        user_id=UserId(value=row["user_id"]),
        decision=Decision(row["decision"]),
        score=row["score"],
        raw_score=row["raw_score"],
        speech_seconds=row["speech_seconds"],
        channel=row["channel"],
        correlation_id=row["correlation_id"],
        created_at=row["created_at"],
        error=row["error"],
    )


def _page(rows: list[Any], limit: int) -> Page[Attempt]:
    items = [_attempt(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = AttemptCursor(created_at=last.created_at, attempt_id=last.id).encode()
    return Page(items=items, next_cursor=next_cursor)


class PostgresAttemptLog:
    """The ``AttemptLog`` port over the ``auth_attempts`` table."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def append(self, attempt: Attempt) -> None:
        """Record an attempt of an enrolled user.

        Raises:
            UserNotFoundError: The user has no enrolment.
            StorageUnavailableError: The database is unreachable.
        """

        async def run(conn: Any) -> str:
            try:
                return str(
                    await conn.execute(
                        "INSERT INTO auth_attempts (id, user_id, success, score, raw_score,"
                        " decision, speech_seconds, channel, correlation_id, error, created_at)"
                        " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11"
                        " WHERE EXISTS (SELECT 1 FROM users WHERE id = $2 AND sample_count > 0)",
                        attempt.id,
                        attempt.user_id.value,
                        attempt.success,
                        attempt.score,
                        attempt.raw_score,
                        attempt.decision.value,
                        attempt.speech_seconds,
                        attempt.channel,
                        attempt.correlation_id,
                        attempt.error,
                        attempt.created_at,
                    )
                )
            except asyncpg.ForeignKeyViolationError:
                return "INSERT 0 0"  # the user was deleted meanwhile

        if await self._db.write(run) != "INSERT 0 1":
            raise UserNotFoundError(f"user {attempt.user_id} is not enrolled")

    async def history(
        self, user_id: UserId, *, limit: int, cursor: str | None = None
    ) -> Page[Attempt]:
        """The user's attempts, newest first, ``limit`` at a time.

        Raises:
            InvalidInputError: The cursor is not one this service issued, or ``limit < 1``.
        """
        return await self._select(limit, cursor, "user_id = $1", user_id.value)

    async def recent(
        self, *, limit: int, cursor: str | None = None, since: datetime | None = None
    ) -> Page[Attempt]:
        """All users' attempts, newest first, optionally only those at or after ``since``.

        Raises:
            InvalidInputError: The cursor is not one this service issued, or ``limit < 1``.
        """
        if since is None:
            return await self._select(limit, cursor, "user_id IS NOT NULL")
        return await self._select(limit, cursor, "user_id IS NOT NULL AND created_at >= $1", since)

    async def _select(
        self, limit: int, cursor: str | None, condition: str, *arguments: Any
    ) -> Page[Attempt]:
        if limit < 1:
            raise InvalidInputError("limit must be at least 1")
        parameters = list(arguments)
        if cursor is not None:
            after = AttemptCursor.decode(cursor)
            parameters += [after.created_at, after.attempt_id]
            condition += f" AND (created_at, id) < (${len(parameters) - 1}, ${len(parameters)})"
        parameters.append(limit + 1)
        query = (
            f"SELECT {_COLUMNS} FROM auth_attempts WHERE {condition}"
            f" ORDER BY created_at DESC, id DESC LIMIT ${len(parameters)}"
        )

        async def run(conn: Any) -> list[Any]:
            return list(await conn.fetch(query, *parameters))

        return _page(await self._db.read(run), limit)
