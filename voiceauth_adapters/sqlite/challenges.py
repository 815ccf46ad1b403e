# ruff: noqa: S608
# (S608: queries are put together from constant fragments only; every value is a bound
# parameter.)
"""Liveness challenges in SQLite: the ``liveness_challenges`` statements."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sql.challenges import CHALLENGE_COLUMNS, SqlChallengeStore
from voiceauth_adapters.sql.rows import Row
from voiceauth_adapters.sqlite.codec import CODEC

if TYPE_CHECKING:
    from voiceauth_adapters.sqlite.connection import SqliteDatabase

__all__ = ["SqliteChallengeStore", "SqliteChallengeTable"]

_COLUMNS = ", ".join(CHALLENGE_COLUMNS)
_INSERT = (
    f"INSERT INTO liveness_challenges ({_COLUMNS})"
    f" SELECT {', '.join('?' for _ in CHALLENGE_COLUMNS)}"
    " WHERE EXISTS (SELECT 1 FROM users WHERE id = ? AND sample_count > 0)"
)
_REDEEM = (
    "UPDATE liveness_challenges SET used_at = ?"
    " WHERE id = ? AND user_id = ? AND used_at IS NULL AND expires_at > ?"
    " AND (call_id IS NULL OR call_id = ?)"
    f" RETURNING {_COLUMNS}"
)


class SqliteChallengeTable:
    """The statements of :class:`~voiceauth_adapters.sql.challenges.ChallengeTable` on SQLite."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def insert(self, values: Sequence[Any], *, purge_before: Any) -> bool:
        """Drop long-expired rows; insert the row if its user is enrolled."""

        def run(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM liveness_challenges WHERE expires_at < ?", (purge_before,))
            inserted = conn.execute(_INSERT, (*values, values[1]))
            return inserted.rowcount == 1

        return await self._db.write(run)

    async def redeem(
        self, challenge_id: Any, user_id: Any, call_id: str | None, now: Any
    ) -> Row | None:
        """Use the open challenge in one UPDATE; the row as updated, or None."""

        def run(conn: sqlite3.Connection) -> Row | None:
            row: Row | None = conn.execute(
                _REDEEM, (now, challenge_id, user_id, now, call_id)
            ).fetchone()
            return row

        return await self._db.write(run)

    async def one(self, challenge_id: Any) -> Row | None:
        """The row, or None."""

        def run(conn: sqlite3.Connection) -> Row | None:
            row: Row | None = conn.execute(
                f"SELECT {_COLUMNS} FROM liveness_challenges WHERE id = ?", (challenge_id,)
            ).fetchone()
            return row

        return await self._db.read(run)


class SqliteChallengeStore(SqlChallengeStore):
    """The ``ChallengeStore`` port over the embedded database (the logic:
    :class:`~voiceauth_adapters.sql.challenges.SqlChallengeStore`)."""

    def __init__(self, database: SqliteDatabase) -> None:
        super().__init__(SqliteChallengeTable(database), CODEC)
