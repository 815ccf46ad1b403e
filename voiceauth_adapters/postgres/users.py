# ruff: noqa: S608
# (S608: queries are put together from this module's constant fragments only; every value is
# a bound parameter.)
"""Enrolments in Postgres: one row per user, each sample added under the row's lock."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from voiceauth_adapters.postgres.codec import (
    decode_optional_vector,
    decode_vector,
    encode_optional_vector,
    encode_vector,
)
from voiceauth_adapters.postgres.connection import PostgresDatabase
from voiceauth_core.enrollment import Enrollment, EnrollmentSample, apply_sample
from voiceauth_core.errors import InvalidInputError, PhoneNumberInUseError
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.paging import Page, UserCursor

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["PostgresUserRepository", "enrollment_from_row"]

_COLUMNS = (
    "id, phone, embedding_sum, embedding_sum_sealed, sample_count, speech_seconds, model_id,"
    " enrolled_at, updated_at, phone_band_sum, phone_band_sum_sealed"
)
# A row with sample_count 0 holds no voiceprint (an original user without a usable embedding,
# or the placeholder of a first sample being written): it is not an enrolment.
_ENROLLED = "sample_count > 0"


def _phone(stored: str | None) -> PhoneNumber | None:
    if stored is None:
        return None
    try:
        return PhoneNumber(e164=stored)
    except InvalidInputError:
        return None  # an original row's number that is not E.164: unusable for look-up


def enrollment_from_row(row: Any, cipher: TemplateCipher | None = None) -> Enrollment:
    """The enrolment a ``users`` row holds (the row must have ``sample_count > 0``).

    Raises:
        TemplateProtectionError: Its voiceprint is sealed and ``cipher`` cannot open it.
    """
    user_id = UserId(value=row["id"])
    return Enrollment(
        user_id=user_id,
        phone=_phone(row["phone"]),
        embedding_sum=decode_vector(
            user_id,
            field="embedding_sum",
            clear=row["embedding_sum"],
            sealed=row["embedding_sum_sealed"],
            cipher=cipher,
        ),
        sample_count=row["sample_count"],
        speech_seconds=row["speech_seconds"],
        model_id=row["model_id"],
        enrolled_at=row["enrolled_at"],
        updated_at=row["updated_at"],
        phone_band_sum=decode_optional_vector(
            user_id,
            field="phone_band_sum",
            clear=row["phone_band_sum"],
            sealed=row["phone_band_sum_sealed"],
            cipher=cipher,
        ),
    )


class PostgresUserRepository:
    """The ``UserRepository`` port over the ``users`` table.

    ``save_sample`` makes sure the user's row exists, locks it (``SELECT ... FOR UPDATE``),
    applies the core's rule (:func:`voiceauth_core.enrollment.apply_sample`) and writes the
    result, all in one transaction: concurrent samples for one user queue on the row lock and
    none is lost.

    Args:
        database: The connection pool.
        cipher: Seals every vector written (the float array columns are left NULL) and opens
            sealed ones; None stores them in the clear. Rows in the clear are read either way.
    """

    def __init__(self, database: PostgresDatabase, *, cipher: TemplateCipher | None = None) -> None:
        self._db = database
        self._cipher = cipher

    def _enrollment(self, row: Any) -> Enrollment:
        return enrollment_from_row(row, self._cipher)

    async def get(self, user_id: UserId) -> Enrollment | None:
        """The user's enrolment, or None."""

        async def run(conn: Any) -> Enrollment | None:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM users WHERE id = $1 AND {_ENROLLED}", user_id.value
            )
            return None if row is None else self._enrollment(row)

        return await self._db.read(run)

    async def find_by_phone(self, phone: PhoneNumber) -> Enrollment | None:
        """The enrolment registered with this phone number, or None."""

        async def run(conn: Any) -> Enrollment | None:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM users WHERE phone = $1 AND {_ENROLLED}", phone.e164
            )
            return None if row is None else self._enrollment(row)

        return await self._db.read(run)

    async def save_sample(
        self,
        user_id: UserId,
        phone: PhoneNumber | None,
        sample: EnrollmentSample,
        *,
        now: datetime,
        replace: bool,
    ) -> Enrollment:
        """Add a sample to the user's enrolment atomically (or start afresh if ``replace``).

        Raises:
            ModelMismatchError: The sample's model differs from the enrolment's and not
                ``replace``; nothing is written.
            PhoneNumberInUseError: The phone number is enrolled for another user.
            StorageUnavailableError: The database is unreachable.
        """

        async def run(conn: Any) -> Enrollment:
            # The placeholder gives a first sample a row to lock; a concurrent first sample
            # waits here for ours to commit, then finds the row. Rolled back with the rest.
            await conn.execute(
                "INSERT INTO users (id, model_id, enrolled_at, updated_at) VALUES ($1, '', $2, $2)"
                " ON CONFLICT (id) DO NOTHING",
                user_id.value,
                now,
            )
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM users WHERE id = $1 FOR UPDATE", user_id.value
            )
            current = self._enrollment(row) if row["sample_count"] > 0 else None
            updated = apply_sample(
                current, user_id=user_id, phone=phone, sample=sample, now=now, replace=replace
            )
            centroid = encode_vector(
                user_id, updated.centroid.vector, field="embedding", cipher=self._cipher
            )
            total = encode_vector(
                user_id, updated.embedding_sum, field="embedding_sum", cipher=self._cipher
            )
            twin = encode_optional_vector(
                user_id, updated.phone_band_sum, field="phone_band_sum", cipher=self._cipher
            )
            try:
                await conn.execute(
                    "UPDATE users SET phone = $2, embedding = $3, embedding_sealed = $4,"
                    " embedding_sum = $5, embedding_sum_sealed = $6, sample_count = $7,"
                    " speech_seconds = $8, model_id = $9, enrolled_at = $10, updated_at = $11,"
                    " phone_band_sum = $12, phone_band_sum_sealed = $13 WHERE id = $1",
                    user_id.value,
                    None if updated.phone is None else updated.phone.e164,
                    *centroid,
                    *total,
                    updated.sample_count,
                    updated.speech_seconds,
                    updated.model_id,
                    updated.enrolled_at,
                    updated.updated_at,
                    *twin,
                )
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name != "users_phone_key":
                    raise
                raise PhoneNumberInUseError(
                    "that phone number is enrolled for another user"
                ) from exc
            return updated

        return await self._db.write(run)

    async def list(self, *, limit: int, cursor: str | None = None) -> Page[Enrollment]:
        """Enrolments ordered by user id, ``limit`` at a time.

        Raises:
            InvalidInputError: The cursor is not one this service issued, or ``limit < 1``.
        """
        if limit < 1:
            raise InvalidInputError("limit must be at least 1")
        after: uuid.UUID | None = None if cursor is None else UserCursor.decode(cursor).user_id

        async def run(conn: Any) -> list[Any]:
            if after is None:
                return list(
                    await conn.fetch(
                        f"SELECT {_COLUMNS} FROM users WHERE {_ENROLLED} ORDER BY id LIMIT $1",
                        limit + 1,
                    )
                )
            return list(
                await conn.fetch(
                    f"SELECT {_COLUMNS} FROM users WHERE {_ENROLLED} AND id > $1"
                    " ORDER BY id LIMIT $2",
                    after,
                    limit + 1,
                )
            )

        rows = await self._db.read(run)
        items = [self._enrollment(row) for row in rows[:limit]]
        more = len(rows) > limit
        next_cursor = UserCursor(user_id=items[-1].user_id.value).encode() if more else None
        return Page(items=items, next_cursor=next_cursor)

    async def delete(self, user_id: UserId) -> bool:
        """Erase the enrolment and (by ``ON DELETE CASCADE``) every attempt of the user."""

        async def run(conn: Any) -> bool:
            count = await conn.fetchval(
                "DELETE FROM users WHERE id = $1 RETURNING sample_count", user_id.value
            )
            return count is not None and count > 0

        return await self._db.write(run)
