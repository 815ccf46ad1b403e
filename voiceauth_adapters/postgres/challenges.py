# ruff: noqa: S608
# (S608: queries are put together from constant fragments only; every value is a bound
# parameter.)
"""Liveness challenges in Postgres: the ``liveness_challenges`` statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.postgres.codec import CODEC
from voiceauth_adapters.sql.challenges import CHALLENGE_COLUMNS, SqlChallengeStore
from voiceauth_adapters.sql.rows import Row

if TYPE_CHECKING:
    from voiceauth_adapters.postgres.connection import PostgresDatabase

__all__ = ["PostgresChallengeStore", "PostgresChallengeTable"]

_COLUMNS = ", ".join(CHALLENGE_COLUMNS)
_INSERT = (
    f"INSERT INTO liveness_challenges ({_COLUMNS})"
    f" SELECT {', '.join(f'${index}' for index in range(1, len(CHALLENGE_COLUMNS) + 1))}"
    " WHERE EXISTS (SELECT 1 FROM users WHERE id = $2 AND sample_count > 0)"
)
_REDEEM = (
    "UPDATE liveness_challenges SET used_at = $4"
    " WHERE id = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $4"
    " AND (call_id IS NULL OR call_id = $3)"
    f" RETURNING {_COLUMNS}"
)


class PostgresChallengeTable:
    """The statements of :class:`~voiceauth_adapters.sql.challenges.ChallengeTable` on
    Postgres."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def insert(self, values: Sequence[Any], *, purge_before: Any) -> bool:
        """Drop long-expired rows; insert the row if its user is enrolled."""

        async def run(conn: Any) -> bool:
            await conn.execute(
                "DELETE FROM liveness_challenges WHERE expires_at < $1", purge_before
            )
            status = await conn.execute(_INSERT, *values)
            return bool(status == "INSERT 0 1")

        return await self._db.write(run)

    async def redeem(
        self, challenge_id: Any, user_id: Any, call_id: str | None, now: Any
    ) -> Row | None:
        """Use the open challenge in one UPDATE; the row as updated, or None."""

        async def run(conn: Any) -> Row | None:
            row: Row | None = await conn.fetchrow(_REDEEM, challenge_id, user_id, call_id, now)
            return row

        return await self._db.write(run)

    async def one(self, challenge_id: Any) -> Row | None:
        """The row, or None."""

        async def run(conn: Any) -> Row | None:
            row: Row | None = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM liveness_challenges WHERE id = $1", challenge_id
            )
            return row

        return await self._db.read(run)


class PostgresChallengeStore(SqlChallengeStore):
    """The ``ChallengeStore`` port over Postgres (the logic:
    :class:`~voiceauth_adapters.sql.challenges.SqlChallengeStore`)."""

    def __init__(self, database: PostgresDatabase) -> None:
        super().__init__(PostgresChallengeTable(database), CODEC)
