"""How a dialect stores ids, times and clear vectors; where a voiceprint goes is decided once here.

In the clear a vector is in its own column (``embedding``, ``embedding_sum``,
``phone_band_sum``), in the dialect's encoding; with a template key it is sealed into the column
beside it (``embedding_sealed``, ...) with the user id as associated data, and the clear one is
NULL. ``phone_band_sum`` may be absent: both columns NULL.

Scores (``score``, ``raw_score``, ``spoof_score``, ``spoof_raw_sum``) are plain floats on every
dialect (``FLOAT8``, ``REAL``), bound and returned by the driver as they are: no codec method.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from voiceauth_adapters.sealing.columns import load_optional_vector, load_vector, store_vector
from voiceauth_core.embedding import Vector
from voiceauth_core.identity import UserId

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import Field, TemplateCipher

__all__ = ["Codec"]

#: A vector in the clear as the driver passes it (a list of floats, a blob).
C = TypeVar("C")


class Codec(ABC, Generic[C]):
    """A dialect's column encodings (the abstract methods); vector placement is the same for all.

    Values are encoded to what the driver binds and decoded from what it returns.
    """

    @abstractmethod
    def encode_id(self, value: uuid.UUID) -> Any:
        """A UUID as an id column takes it."""

    @abstractmethod
    def decode_id(self, stored: Any) -> uuid.UUID:
        """The UUID an id column holds."""

    @abstractmethod
    def encode_time(self, when: datetime) -> Any:
        """A time as a time column takes it."""

    @abstractmethod
    def decode_time(self, stored: Any) -> datetime:
        """The timezone-aware time a time column holds."""

    @abstractmethod
    def clear_value(self, vector: Vector) -> C:
        """A vector as its clear column takes it."""

    @abstractmethod
    def clear_vector(self, stored: C) -> Vector:
        """The float64 vector a clear column holds."""

    def decode_clear(self, stored: C | None) -> Vector | None:
        """The vector a clear column holds, or None when it is NULL."""
        return None if stored is None else self.clear_vector(stored)

    def encode_vector(
        self, user_id: UserId, vector: Vector, *, field: Field, cipher: TemplateCipher | None = None
    ) -> tuple[C | None, bytes | None]:
        """The ``(clear, sealed)`` column values for ``vector`` of ``user_id``: one is None."""
        sealed = store_vector(cipher, user_id, field, vector)
        if sealed is not None:
            return None, sealed
        return self.clear_value(vector), None

    def decode_vector(
        self,
        user_id: UserId,
        *,
        field: Field,
        clear: C | None,
        sealed: bytes | None,
        cipher: TemplateCipher | None = None,
    ) -> Vector:
        """The vector stored by :meth:`encode_vector`, from whichever column holds it.

        Raises:
            TemplateProtectionError: It is sealed and cannot be opened with ``cipher``.
        """
        return load_vector(cipher, user_id, field, clear=self.decode_clear(clear), sealed=sealed)

    def encode_optional_vector(
        self,
        user_id: UserId,
        vector: Vector | None,
        *,
        field: Field,
        cipher: TemplateCipher | None = None,
    ) -> tuple[C | None, bytes | None]:
        """As :meth:`encode_vector`, for a vector a row may lack: both None when ``vector`` is."""
        if vector is None:
            return None, None
        return self.encode_vector(user_id, vector, field=field, cipher=cipher)

    def decode_optional_vector(
        self,
        user_id: UserId,
        *,
        field: Field,
        clear: C | None,
        sealed: bytes | None,
        cipher: TemplateCipher | None = None,
    ) -> Vector | None:
        """The vector stored by :meth:`encode_optional_vector`, or None when neither column holds
        it.

        Raises:
            TemplateProtectionError: It is sealed and cannot be opened with ``cipher``.
        """
        return load_optional_vector(
            cipher, user_id, field, clear=self.decode_clear(clear), sealed=sealed
        )
