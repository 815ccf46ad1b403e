# ruff: noqa: S608
# (S608: queries are put together from this module's constant fragments only; every value is
# a bound parameter.)
"""Enrolments in SQLite: one row per user, each sample added inside one write transaction."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sqlite.codec import (
    decode_optional_vector,
    decode_time,
    decode_vector,
    encode_optional_vector,
    encode_time,
    encode_vector,
)
from voiceauth_adapters.sqlite.connection import SqliteDatabase
from voiceauth_core.enrollment import Enrollment, EnrollmentSample, apply_sample
from voiceauth_core.errors import InvalidInputError, PhoneNumberInUseError
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.paging import Page, UserCursor

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["SqliteUserRepository"]

_COLUMNS = (
    "id, phone, embedding_sum, embedding_sum_sealed, sample_count, speech_seconds, model_id,"
    " enrolled_at, updated_at, phone_band_sum, phone_band_sum_sealed"
)
_ENROLLED = "sample_count > 0"

Row = tuple[Any, ...]


def _enrollment(row: Row, cipher: TemplateCipher | None) -> Enrollment:
    (
        ident,
        phone,
        clear,
        sealed,
        count,
        speech,
        model_id,
        enrolled_at,
        updated_at,
        twin_clear,
        twin_sealed,
    ) = row
    user_id = UserId(value=uuid.UUID(ident))
    return Enrollment(
        user_id=user_id,
        phone=None if phone is None else PhoneNumber(e164=phone),
        embedding_sum=decode_vector(
            user_id, field="embedding_sum", clear=clear, sealed=sealed, cipher=cipher
        ),
        sample_count=count,
        speech_seconds=speech,
        model_id=model_id,
        enrolled_at=decode_time(enrolled_at),
        updated_at=decode_time(updated_at),
        phone_band_sum=decode_optional_vector(
            user_id, field="phone_band_sum", clear=twin_clear, sealed=twin_sealed, cipher=cipher
        ),
    )


def _one(
    conn: sqlite3.Connection, condition: str, value: str, cipher: TemplateCipher | None
) -> Enrollment | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM users WHERE {condition} AND {_ENROLLED}", (value,)
    ).fetchone()
    return None if row is None else _enrollment(row, cipher)


class SqliteUserRepository:
    """The ``UserRepository`` port over the embedded database's ``users`` table.

    ``save_sample`` reads the row, applies the core's rule
    (:func:`voiceauth_core.enrollment.apply_sample`) and writes it back inside one
    ``BEGIN IMMEDIATE`` transaction, so no concurrent sample is lost.

    Args:
        database: The embedded database.
        cipher: Seals every vector written (the clear blob columns are left NULL) and opens
            sealed ones; None stores them in the clear. Rows in the clear are read either way.
    """

    def __init__(self, database: SqliteDatabase, *, cipher: TemplateCipher | None = None) -> None:
        self._db = database
        self._cipher = cipher

    async def get(self, user_id: UserId) -> Enrollment | None:
        """The user's enrolment, or None."""
        key = str(user_id.value)
        return await self._db.read(lambda conn: _one(conn, "id = ?", key, self._cipher))

    async def find_by_phone(self, phone: PhoneNumber) -> Enrollment | None:
        """The enrolment registered with this phone number, or None."""
        return await self._db.read(lambda conn: _one(conn, "phone = ?", phone.e164, self._cipher))

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
            StorageUnavailableError: The database is failing.
        """
        key = str(user_id.value)

        def run(conn: sqlite3.Connection) -> Enrollment:
            exists = conn.execute("SELECT 1 FROM users WHERE id = ?", (key,)).fetchone()
            updated = apply_sample(
                _one(conn, "id = ?", key, self._cipher),
                user_id=user_id,
                phone=phone,
                sample=sample,
                now=now,
                replace=replace,
            )
            embedding, embedding_sealed = encode_vector(
                user_id, updated.centroid.vector, field="embedding", cipher=self._cipher
            )
            embedding_sum, embedding_sum_sealed = encode_vector(
                user_id, updated.embedding_sum, field="embedding_sum", cipher=self._cipher
            )
            phone_band_sum, phone_band_sum_sealed = encode_optional_vector(
                user_id, updated.phone_band_sum, field="phone_band_sum", cipher=self._cipher
            )
            values = {
                "id": key,
                "phone": None if updated.phone is None else updated.phone.e164,
                "embedding": embedding,
                "embedding_sealed": embedding_sealed,
                "embedding_sum": embedding_sum,
                "embedding_sum_sealed": embedding_sum_sealed,
                "phone_band_sum": phone_band_sum,
                "phone_band_sum_sealed": phone_band_sum_sealed,
                "sample_count": updated.sample_count,
                "speech_seconds": updated.speech_seconds,
                "model_id": updated.model_id,
                "enrolled_at": encode_time(updated.enrolled_at),
                "updated_at": encode_time(updated.updated_at),
            }
            statement = (
                "UPDATE users SET phone = :phone, embedding = :embedding,"
                " embedding_sealed = :embedding_sealed, embedding_sum = :embedding_sum,"
                " embedding_sum_sealed = :embedding_sum_sealed, sample_count = :sample_count,"
                " speech_seconds = :speech_seconds, model_id = :model_id,"
                " enrolled_at = :enrolled_at, updated_at = :updated_at,"
                " phone_band_sum = :phone_band_sum, phone_band_sum_sealed = :phone_band_sum_sealed"
                " WHERE id = :id"
                if exists
                else "INSERT INTO users (id, phone, embedding, embedding_sealed, embedding_sum,"
                " embedding_sum_sealed, sample_count, speech_seconds, model_id, enrolled_at,"
                " updated_at, phone_band_sum, phone_band_sum_sealed) VALUES (:id, :phone,"
                " :embedding, :embedding_sealed, :embedding_sum, :embedding_sum_sealed,"
                " :sample_count, :speech_seconds, :model_id, :enrolled_at, :updated_at,"
                " :phone_band_sum, :phone_band_sum_sealed)"
            )
            try:
                conn.execute(statement, values)
            except sqlite3.IntegrityError as exc:
                if "users.phone" not in str(exc):
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
        after = "" if cursor is None else str(UserCursor.decode(cursor).user_id)

        def run(conn: sqlite3.Connection) -> list[Row]:
            return conn.execute(
                f"SELECT {_COLUMNS} FROM users WHERE {_ENROLLED} AND id > ? ORDER BY id LIMIT ?",
                (after, limit + 1),
            ).fetchall()

        rows = await self._db.read(run)
        items = [_enrollment(row, self._cipher) for row in rows[:limit]]
        more = len(rows) > limit
        next_cursor = UserCursor(user_id=items[-1].user_id.value).encode() if more else None
        return Page(items=items, next_cursor=next_cursor)

    async def delete(self, user_id: UserId) -> bool:
        """Erase the enrolment and (by ``ON DELETE CASCADE``) every attempt of the user."""
        key = str(user_id.value)

        def run(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT sample_count FROM users WHERE id = ?", (key,)).fetchone()
            conn.execute("DELETE FROM users WHERE id = ?", (key,))
            return row is not None and row[0] > 0

        return await self._db.write(run)
