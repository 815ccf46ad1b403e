# ruff: noqa: S608
# (S608: queries are put together from constant fragments only; every value is a bound
# parameter.)
"""Verification attempts in SQLite: the ``auth_attempts`` statements, with keyset pagination."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sql.attempts import SqlAttemptLog
from voiceauth_adapters.sql.rows import ATTEMPT_COLUMNS, ATTEMPT_WRITTEN, PROBE_COLUMNS, Row
from voiceauth_adapters.sqlite.codec import CODEC

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher
    from voiceauth_adapters.sqlite.connection import SqliteDatabase

__all__ = ["SqliteAttemptLog", "SqliteAttemptTable"]

# ?2 is the user id (ATTEMPT_WRITTEN's second column).
_APPEND = (
    f"INSERT INTO auth_attempts ({', '.join(ATTEMPT_WRITTEN)})"
    f" SELECT {', '.join(f'?{index}' for index in range(1, len(ATTEMPT_WRITTEN) + 1))}"
    " WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2 AND sample_count > 0)"
)
# Migration 0009's auth_attempts_probe_expiry index finds the probes to erase.
_ERASE_EXPIRED_PROBES = (
    "UPDATE auth_attempts SET probe_embedding = NULL, probe_embedding_sealed = NULL,"
    " probe_model_id = NULL, probe_expires_at = NULL WHERE probe_expires_at <= ?"
)
_ONE = f"SELECT {ATTEMPT_COLUMNS}, {PROBE_COLUMNS} FROM auth_attempts WHERE id = ?"


class SqliteAttemptTable:
    """The statements of :class:`~voiceauth_adapters.sql.tables.AttemptTable` on SQLite."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def append(self, values: Sequence[Any], expire_before: Any) -> bool:
        """Insert the attempt if its user holds samples, and erase expired probes; whether it
        was inserted."""

        def run(conn: sqlite3.Connection) -> int:
            conn.execute(_ERASE_EXPIRED_PROBES, (expire_before,))
            return conn.execute(_APPEND, tuple(values)).rowcount

        return await self._db.write(run) == 1

    async def one(self, attempt_id: Any) -> Row | None:
        """The attempt's row with its probe columns, or None."""

        def run(conn: sqlite3.Connection) -> Row | None:
            row: Row | None = conn.execute(_ONE, (attempt_id,)).fetchone()
            return row

        return await self._db.read(run)

    async def newest(
        self,
        *,
        limit: int,
        user_id: Any | None = None,
        since: Any | None = None,
        before: tuple[Any, Any] | None = None,
    ) -> Sequence[Row]:
        """Up to ``limit`` rows, newest first, of one user or all, after ``since``, before
        ``before``."""
        conditions: list[str] = []
        parameters: list[Any] = []
        if user_id is not None:
            conditions.append("user_id = ?")
            parameters.append(user_id)
        if since is not None:
            conditions.append("created_at >= ?")
            parameters.append(since)
        if before is not None:
            conditions.append("(created_at, id) < (?, ?)")
            parameters += before
        query = (
            f"SELECT {ATTEMPT_COLUMNS} FROM auth_attempts"
            f" WHERE {' AND '.join(conditions) or '1 = 1'}"
            " ORDER BY created_at DESC, id DESC LIMIT ?"
        )

        def run(conn: sqlite3.Connection) -> Sequence[Row]:
            return conn.execute(query, (*parameters, limit)).fetchall()

        return await self._db.read(run)


class SqliteAttemptLog(SqlAttemptLog):
    """The ``AttemptLog`` port over the embedded database's ``auth_attempts`` table (the logic:
    :class:`~voiceauth_adapters.sql.attempts.SqlAttemptLog`).

    Args:
        database: The embedded database.
        cipher: Seals the probe embeddings attempts keep; None keeps them in the clear.
    """

    def __init__(self, database: SqliteDatabase, *, cipher: TemplateCipher | None = None) -> None:
        super().__init__(SqliteAttemptTable(database), CODEC, cipher=cipher)
