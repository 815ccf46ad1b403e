"""Keyset pagination: a page of items, and the opaque cursors every store encodes the same way."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from voiceauth_core.errors import InvalidInputError

__all__ = ["AttemptCursor", "Page", "UserCursor"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(Generic[T]):
    """Items in order, and the cursor to pass for the next page (None at the end)."""

    items: Sequence[T]
    next_cursor: str | None = None


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidInputError("the cursor is not one this service issued") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptCursor:
    """Position after an attempt in newest-first order: its time, then its id."""

    created_at: datetime
    attempt_id: uuid.UUID

    def encode(self) -> str:
        """The opaque text form."""
        return _encode(f"{self.created_at.isoformat()}|{self.attempt_id}")

    @classmethod
    def decode(cls, cursor: str) -> AttemptCursor:
        """Read a cursor made by :meth:`encode`.

        Raises:
            InvalidInputError: The text is not such a cursor.
        """
        try:
            when, _, ident = _decode(cursor).partition("|")
            created_at = datetime.fromisoformat(when)
            if created_at.tzinfo is None:
                raise ValueError("naive time")
            return cls(created_at=created_at, attempt_id=uuid.UUID(ident))
        except ValueError as exc:
            raise InvalidInputError("the cursor is not one this service issued") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class UserCursor:
    """Position after a user in user-id order."""

    user_id: uuid.UUID

    def encode(self) -> str:
        """The opaque text form."""
        return _encode(str(self.user_id))

    @classmethod
    def decode(cls, cursor: str) -> UserCursor:
        """Read a cursor made by :meth:`encode`.

        Raises:
            InvalidInputError: The text is not such a cursor.
        """
        try:
            return cls(user_id=uuid.UUID(_decode(cursor)))
        except ValueError as exc:
            raise InvalidInputError("the cursor is not one this service issued") from exc
