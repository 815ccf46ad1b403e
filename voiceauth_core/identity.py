"""Who a voiceprint belongs to: the user id and the E.164 phone number."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from voiceauth_core.errors import InvalidInputError

__all__ = ["PhoneNumber", "UserId"]

# E.164: a "+", a country code that does not start with 0, at most 15 digits in all.
_E164 = re.compile(r"\+[1-9]\d{6,14}")
# Separators people type inside numbers; removed before validation.
_SEPARATORS = re.compile(r"[\s\-().]")


@dataclass(frozen=True, slots=True, kw_only=True)
class UserId:
    """The account holder's id, a UUID chosen by the calling system."""

    value: uuid.UUID

    @classmethod
    def parse(cls, text: str | uuid.UUID) -> UserId:
        """Read a user id from a UUID or its text form.

        Raises:
            InvalidInputError: The text is not a UUID.
        """
        if isinstance(text, uuid.UUID):
            return cls(value=text)
        try:
            return cls(value=uuid.UUID(str(text)))
        except (ValueError, TypeError, AttributeError) as exc:
            raise InvalidInputError("userId must be a UUID") from exc

    @classmethod
    def new(cls) -> UserId:
        """A fresh random user id."""
        return cls(value=uuid.uuid4())

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneNumber:
    """A phone number in E.164 form (``+`` and 7 to 15 digits)."""

    e164: str

    def __post_init__(self) -> None:
        if not isinstance(self.e164, str) or _E164.fullmatch(self.e164) is None:
            raise InvalidInputError("phone must be an E.164 number such as +14155550123")

    @classmethod
    def parse(cls, text: str) -> PhoneNumber:
        """Read a phone number, allowing spaces, dashes, dots and brackets between digits.

        Raises:
            InvalidInputError: The text is not an E.164 number. Never anything else.
        """
        if not isinstance(text, str):
            raise InvalidInputError("phone must be a string")
        return cls(e164=_SEPARATORS.sub("", text.strip()))

    def masked(self) -> str:
        """The number with all but the last two digits hidden, for logs and screens."""
        return "+" + "*" * (len(self.e164) - 3) + self.e164[-2:]

    def __str__(self) -> str:
        return self.e164
