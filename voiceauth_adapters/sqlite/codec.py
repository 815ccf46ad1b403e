"""How a vector, an id and a time are stored in a SQLite row: the one place to change them.

In the clear a vector is a float64 little-endian blob (``embedding``, ``embedding_sum``,
``phone_band_sum``); with a template key it is sealed into the column beside it (see
:class:`~voiceauth_adapters.sql.codec.Codec`). An id is the UUID's text, a time fixed-width UTC
text (:func:`encode_time`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np

from voiceauth_adapters.sql.codec import Codec
from voiceauth_core.embedding import Vector

__all__ = [
    "CODEC",
    "SqliteCodec",
    "decode_clear",
    "decode_optional_vector",
    "decode_time",
    "decode_vector",
    "encode_optional_vector",
    "encode_time",
    "encode_vector",
]

_FLOAT64_LE = np.dtype("<f8")


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


class SqliteCodec(Codec[bytes]):
    """Ids and times as text, vectors in the clear as float64 little-endian blobs."""

    def encode_id(self, value: uuid.UUID) -> str:
        """The UUID's text."""
        return str(value)

    def decode_id(self, stored: str) -> uuid.UUID:
        """The UUID of its text."""
        return uuid.UUID(stored)

    def encode_time(self, when: datetime) -> str:
        """See :func:`encode_time`."""
        return encode_time(when)

    def decode_time(self, stored: str) -> datetime:
        """See :func:`decode_time`."""
        return decode_time(stored)

    def clear_value(self, vector: Vector) -> bytes:
        """The float64 little-endian blob of a vector."""
        return np.asarray(vector, dtype=_FLOAT64_LE).tobytes()

    def clear_vector(self, stored: bytes) -> Vector:
        """The vector of a float64 little-endian blob."""
        return np.frombuffer(stored, dtype=_FLOAT64_LE).astype(np.float64)


#: The codec of every SQLite store.
CODEC = SqliteCodec()
decode_clear = CODEC.decode_clear
encode_vector = CODEC.encode_vector
decode_vector = CODEC.decode_vector
encode_optional_vector = CODEC.encode_optional_vector
decode_optional_vector = CODEC.decode_optional_vector
