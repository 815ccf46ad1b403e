"""Enrolments in a SQL table, the same on every dialect: one row per user, samples merged in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sql.codec import Codec
from voiceauth_adapters.sql.paging import page_of, require_limit
from voiceauth_adapters.sql.rows import (
    Row,
    enrollment_from_row,
    enrollment_values,
    holds_samples,
)
from voiceauth_adapters.sql.tables import UserTable
from voiceauth_core.enrollment import Enrollment, EnrollmentSample, apply_sample
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.paging import Page, UserCursor

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["SqlUserRepository"]


class SqlUserRepository:
    """The ``UserRepository`` port over a dialect's ``users`` table.

    ``save_sample`` reads the user's row under the dialect's write lock, applies the core's rule
    (:func:`voiceauth_core.enrollment.apply_sample`) and writes the result in the same
    transaction: concurrent samples for one user queue on the lock and none is lost.

    Args:
        table: The dialect's statements on ``users``.
        codec: The dialect's column encodings.
        cipher: Seals every vector written (the clear columns are left NULL) and opens sealed
            ones; None stores them in the clear. Rows in the clear are read either way.
    """

    def __init__(
        self, table: UserTable, codec: Codec[Any], *, cipher: TemplateCipher | None = None
    ) -> None:
        self._table = table
        self._codec = codec
        self._cipher = cipher

    def _enrollment(self, row: Row) -> Enrollment:
        return enrollment_from_row(row, self._codec, self._cipher)

    async def get(self, user_id: UserId) -> Enrollment | None:
        """The user's enrolment, or None."""
        row = await self._table.enrolled("id", self._codec.encode_id(user_id.value))
        return None if row is None else self._enrollment(row)

    async def find_by_phone(self, phone: PhoneNumber) -> Enrollment | None:
        """The enrolment registered with this phone number, or None."""
        row = await self._table.enrolled("phone", phone.e164)
        return None if row is None else self._enrollment(row)

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

        def merge(row: Row | None) -> tuple[Enrollment, Sequence[Any]]:
            current = self._enrollment(row) if row is not None and holds_samples(row) else None
            updated = apply_sample(
                current, user_id=user_id, phone=phone, sample=sample, now=now, replace=replace
            )
            return updated, enrollment_values(updated, self._codec, self._cipher)

        return await self._table.save(
            self._codec.encode_id(user_id.value), self._codec.encode_time(now), merge
        )

    async def list(self, *, limit: int, cursor: str | None = None) -> Page[Enrollment]:
        """Enrolments ordered by user id, ``limit`` at a time.

        Raises:
            InvalidInputError: The cursor is not one this service issued, or ``limit < 1``.
        """
        require_limit(limit)
        after = None if cursor is None else UserCursor.decode(cursor).user_id
        rows = await self._table.enrolled_after(
            None if after is None else self._codec.encode_id(after), limit + 1
        )
        return page_of(
            rows,
            limit,
            self._enrollment,
            lambda last: UserCursor(user_id=last.user_id.value).encode(),
        )

    async def delete(self, user_id: UserId) -> bool:
        """Erase the enrolment and (by ``ON DELETE CASCADE``) every attempt of the user."""
        return await self._table.delete(self._codec.encode_id(user_id.value))
