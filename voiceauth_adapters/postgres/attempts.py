# ruff: noqa: S608
# (S608: queries are put together from constant fragments only; every value is a bound
# parameter.)
"""Verification attempts in Postgres: the ``auth_attempts`` statements, with keyset pagination."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import asyncpg

from voiceauth_adapters.postgres.codec import CODEC
from voiceauth_adapters.sql.attempts import SqlAttemptLog
from voiceauth_adapters.sql.rows import ATTEMPT_COLUMNS, ATTEMPT_WRITTEN, PROBE_COLUMNS, Row

if TYPE_CHECKING:
    from voiceauth_adapters.postgres.connection import PostgresDatabase
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["PostgresAttemptLog", "PostgresAttemptTable"]

# $2 is the user id (ATTEMPT_WRITTEN's second column).
_APPEND = (
    f"INSERT INTO auth_attempts ({', '.join(ATTEMPT_WRITTEN)})"
    f" SELECT {', '.join(f'${index}' for index in range(1, len(ATTEMPT_WRITTEN) + 1))}"
    " WHERE EXISTS (SELECT 1 FROM users WHERE id = $2 AND sample_count > 0)"
)
# Migration 0009's auth_attempts_probe_expiry index finds the probes to erase.
_ERASE_EXPIRED_PROBES = (
    "UPDATE auth_attempts SET probe_embedding = NULL, probe_embedding_sealed = NULL,"
    " probe_model_id = NULL, probe_expires_at = NULL WHERE probe_expires_at <= $1"
)
_ONE = f"SELECT {ATTEMPT_COLUMNS}, {PROBE_COLUMNS} FROM auth_attempts WHERE id = $1"


class PostgresAttemptTable:
    """The statements of :class:`~voiceauth_adapters.sql.tables.AttemptTable` on Postgres."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def append(self, values: Sequence[Any], expire_before: Any) -> bool:
        """Insert the attempt if its user holds samples, and erase expired probes; whether it
        was inserted."""

        async def run(conn: Any) -> str:
            await conn.execute(_ERASE_EXPIRED_PROBES, expire_before)
            try:
                return str(await conn.execute(_APPEND, *values))
            except asyncpg.ForeignKeyViolationError:
                return "INSERT 0 0"  # the user was deleted meanwhile

        return await self._db.write(run) == "INSERT 0 1"

    async def one(self, attempt_id: Any) -> Row | None:
        """The attempt's row with its probe columns, or None."""

        async def run(conn: Any) -> Row | None:
            row: Row | None = await conn.fetchrow(_ONE, attempt_id)
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
        parameters: list[Any] = []

        def bind(value: Any) -> str:
            parameters.append(value)
            return f"${len(parameters)}"

        # An original attempt without a user is kept, but never listed.
        condition = "user_id IS NOT NULL" if user_id is None else f"user_id = {bind(user_id)}"
        if since is not None:
            condition += f" AND created_at >= {bind(since)}"
        if before is not None:
            condition += f" AND (created_at, id) < ({bind(before[0])}, {bind(before[1])})"
        query = (
            f"SELECT {ATTEMPT_COLUMNS} FROM auth_attempts WHERE {condition}"
            f" ORDER BY created_at DESC, id DESC LIMIT {bind(limit)}"
        )

        async def run(conn: Any) -> Sequence[Row]:
            return list(await conn.fetch(query, *parameters))

        return await self._db.read(run)


class PostgresAttemptLog(SqlAttemptLog):
    """The ``AttemptLog`` port over Postgres's ``auth_attempts`` table (the logic:
    :class:`~voiceauth_adapters.sql.attempts.SqlAttemptLog`).

    Args:
        database: The connection pool.
        cipher: Seals the probe embeddings attempts keep; None keeps them in the clear.
    """

    def __init__(self, database: PostgresDatabase, *, cipher: TemplateCipher | None = None) -> None:
        super().__init__(PostgresAttemptTable(database), CODEC, cipher=cipher)
