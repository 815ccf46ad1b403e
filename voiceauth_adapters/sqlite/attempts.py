# ruff: noqa: S608
# (S608: queries are put together from this module's constant fragments only; every value is
# a bound parameter.)
"""Verification attempts in SQLite: appended, read newest first with keyset pagination."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime
from typing import Any

from voiceauth_adapters.sqlite.codec import decode_time, encode_time
from voiceauth_adapters.sqlite.connection import SqliteDatabase
from voiceauth_core.attempt import Attempt, Decision
from voiceauth_core.errors import InvalidInputError, UserNotFoundError
from voiceauth_core.identity import UserId
from voiceauth_core.paging import AttemptCursor, Page

__all__ = ["SqliteAttemptLog"]

_COLUMNS = (
    "id, user_id, decision, score, raw_score, speech_seconds, channel, correlation_id,"
    " created_at, error"
)

Row = tuple[Any, ...]


def _attempt(row: Row) -> Attempt:
    ident, user, decision, score, raw, speech, channel, correlation, created_at, error = row
    return Attempt(
        id=uuid.UUID(ident),
        user_id=UserId(value=uuid.UUID(user)),
        decision=Decision(decision),
        score=score,
        raw_score=raw,
        speech_seconds=speech,
        channel=channel,
        correlation_id=correlation,
        created_at=decode_time(created_at),
        error=error,
    )


class SqliteAttemptLog:
    """The ``AttemptLog`` port over the embedded database's ``auth_attempts`` table."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def append(self, attempt: Attempt) -> None:
        """Record an attempt of an enrolled user.

        Raises:
            UserNotFoundError: The user has no enrolment.
            StorageUnavailableError: The database is failing.
        """
        values = (
            str(attempt.id),
            str(attempt.user_id.value),
            int(attempt.success),
            attempt.score,
            attempt.raw_score,
            attempt.decision.value,
            attempt.speech_seconds,
            attempt.channel,
            attempt.correlation_id,
            attempt.error,
            encode_time(attempt.created_at),
        )

        def run(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "INSERT INTO auth_attempts (id, user_id, success, score, raw_score, decision,"
                " speech_seconds, channel, correlation_id, error, created_at)"
                " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11"
                " WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2 AND sample_count > 0)",
                values,
            ).rowcount

        if await self._db.write(run) != 1:
            raise UserNotFoundError(f"user {attempt.user_id} is not enrolled")

    async def history(
        self, user_id: UserId, *, limit: int, cursor: str | None = None
    ) -> Page[Attempt]:
        """The user's attempts, newest first, ``limit`` at a time.

        Raises:
            InvalidInputError: The cursor is not one this service issued, or ``limit < 1``.
        """
        return await self._select(limit, cursor, "user_id = ?", str(user_id.value))

    async def recent(
        self, *, limit: int, cursor: str | None = None, since: datetime | None = None
    ) -> Page[Attempt]:
        """All users' attempts, newest first, optionally only those at or after ``since``.

        Raises:
            InvalidInputError: The cursor is not one this service issued, or ``limit < 1``.
        """
        if since is None:
            return await self._select(limit, cursor, "1 = 1")
        return await self._select(limit, cursor, "created_at >= ?", encode_time(since))

    async def _select(
        self, limit: int, cursor: str | None, condition: str, *arguments: Any
    ) -> Page[Attempt]:
        if limit < 1:
            raise InvalidInputError("limit must be at least 1")
        parameters = list(arguments)
        if cursor is not None:
            after = AttemptCursor.decode(cursor)
            condition += " AND (created_at, id) < (?, ?)"
            parameters += [encode_time(after.created_at), str(after.attempt_id)]
        query = (
            f"SELECT {_COLUMNS} FROM auth_attempts WHERE {condition}"
            " ORDER BY created_at DESC, id DESC LIMIT ?"
        )

        def run(conn: sqlite3.Connection) -> list[Row]:
            return conn.execute(query, (*parameters, limit + 1)).fetchall()

        rows = await self._db.read(run)
        items = [_attempt(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = AttemptCursor(created_at=last.created_at, attempt_id=last.id).encode()
        return Page(items=items, next_cursor=next_cursor)
