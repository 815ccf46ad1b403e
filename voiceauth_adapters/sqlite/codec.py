"""How a voiceprint vector and a time are stored in a SQLite row: the one place to change them.

In the clear a vector is a float64 little-endian blob (``embedding``, ``embedding_sum``,
``phone_band_sum``); with a template key it is sealed into the column beside it
(``embedding_sealed``, ``embedding_sum_sealed``, ``phone_band_sum_sealed``) and the clear one is
NULL. The user id is the associated data. ``phone_band_sum`` may be absent: both columns NULL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from voiceauth_adapters.sealing.columns import load_optional_vector, load_vector, store_vector
from voiceauth_core.embedding import Vector
from voiceauth_core.identity import UserId

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import Field, TemplateCipher

__all__ = [
    "decode_clear",
    "decode_optional_vector",
    "decode_time",
    "decode_vector",
    "encode_optional_vector",
    "encode_time",
    "encode_vector",
]

_FLOAT64_LE = np.dtype("<f8")


def encode_vector(
    user_id: UserId, vector: Vector, *, field: Field, cipher: TemplateCipher | None = None
) -> tuple[bytes | None, bytes | None]:
    """The ``(clear, sealed)`` column values for ``vector`` of ``user_id``: one is None."""
    sealed = store_vector(cipher, user_id, field, vector)
    if sealed is not None:
        return None, sealed
    return np.asarray(vector, dtype=_FLOAT64_LE).tobytes(), None


def decode_clear(stored: bytes | None) -> Vector | None:
    """The vector a float64 blob column holds in the clear, or None when it is NULL."""
    return None if stored is None else np.frombuffer(stored, dtype=_FLOAT64_LE).astype(np.float64)


def decode_vector(
    user_id: UserId,
    *,
    field: Field,
    clear: bytes | None,
    sealed: bytes | None,
    cipher: TemplateCipher | None = None,
) -> Vector:
    """The vector stored by :func:`encode_vector`, from whichever column holds it.

    Raises:
        TemplateProtectionError: It is sealed and cannot be opened with ``cipher``.
    """
    return load_vector(cipher, user_id, field, clear=decode_clear(clear), sealed=sealed)


def encode_optional_vector(
    user_id: UserId, vector: Vector | None, *, field: Field, cipher: TemplateCipher | None = None
) -> tuple[bytes | None, bytes | None]:
    """As :func:`encode_vector`, for a vector a row may lack: both None when ``vector`` is."""
    if vector is None:
        return None, None
    return encode_vector(user_id, vector, field=field, cipher=cipher)


def decode_optional_vector(
    user_id: UserId,
    *,
    field: Field,
    clear: bytes | None,
    sealed: bytes | None,
    cipher: TemplateCipher | None = None,
) -> Vector | None:
    """The vector stored by :func:`encode_optional_vector`, or None when neither column holds it.

    Raises:
        TemplateProtectionError: It is sealed and cannot be opened with ``cipher``.
    """
    return load_optional_vector(cipher, user_id, field, clear=decode_clear(clear), sealed=sealed)


def encode_time(when: datetime) -> str:
    """UTC as fixed-width text (``2026-03-01T12:00:00.000000Z``): text order is time order.

    A naive time is taken to be UTC already.
    """
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat(timespec="microseconds") + "Z"


def decode_time(stored: str) -> datetime:
    """The time stored by :func:`encode_time`, timezone-aware in UTC."""
    return datetime.fromisoformat(stored.removesuffix("Z")).replace(tzinfo=UTC)
