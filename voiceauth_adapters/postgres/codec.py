"""How a voiceprint vector is stored in a Postgres row: the one place to change its encoding.

In the clear it is a ``FLOAT8[]`` (``embedding``, ``embedding_sum``, ``phone_band_sum``); with a
template key it is sealed into the ``BYTEA`` column beside it (``embedding_sealed``,
``embedding_sum_sealed``, ``phone_band_sum_sealed``) and the array is NULL. The user id is the
sealed value's associated data. ``phone_band_sum`` may be absent: both columns NULL.
"""

from __future__ import annotations

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
    "decode_vector",
    "encode_optional_vector",
    "encode_vector",
]


def encode_vector(
    user_id: UserId, vector: Vector, *, field: Field, cipher: TemplateCipher | None = None
) -> tuple[list[float] | None, bytes | None]:
    """The ``(array, sealed)`` column values for ``vector`` of ``user_id``: one is None."""
    sealed = store_vector(cipher, user_id, field, vector)
    if sealed is not None:
        return None, sealed
    return [float(x) for x in vector], None


def decode_clear(stored: list[float] | None) -> Vector | None:
    """The vector a ``FLOAT8[]`` column holds in the clear, or None when it is NULL."""
    return None if stored is None else np.array(stored, dtype=np.float64)


def decode_vector(
    user_id: UserId,
    *,
    field: Field,
    clear: list[float] | None,
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
) -> tuple[list[float] | None, bytes | None]:
    """As :func:`encode_vector`, for a vector a row may lack: both None when ``vector`` is."""
    if vector is None:
        return None, None
    return encode_vector(user_id, vector, field=field, cipher=cipher)


def decode_optional_vector(
    user_id: UserId,
    *,
    field: Field,
    clear: list[float] | None,
    sealed: bytes | None,
    cipher: TemplateCipher | None = None,
) -> Vector | None:
    """The vector stored by :func:`encode_optional_vector`, or None when neither column holds it.

    Raises:
        TemplateProtectionError: It is sealed and cannot be opened with ``cipher``.
    """
    return load_optional_vector(cipher, user_id, field, clear=decode_clear(clear), sealed=sealed)
