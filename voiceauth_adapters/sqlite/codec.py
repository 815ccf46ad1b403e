"""How a voiceprint vector and a time are stored in a SQLite row: the one place to change them.

Vectors are float64 little-endian blobs. A later version encrypts them with the user id as
associated data, which is why both vector functions take the user id.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from voiceauth_core.embedding import Vector
from voiceauth_core.identity import UserId

__all__ = ["decode_time", "decode_vector", "encode_time", "encode_vector"]

_FLOAT64_LE = np.dtype("<f8")


def encode_vector(user_id: UserId, vector: Vector) -> bytes:
    """The column value for ``vector`` of ``user_id``."""
    del user_id  # the associated data of the coming encryption
    return np.asarray(vector, dtype=_FLOAT64_LE).tobytes()


def decode_vector(user_id: UserId, stored: bytes) -> Vector:
    """The vector stored by :func:`encode_vector`."""
    del user_id
    return np.frombuffer(stored, dtype=_FLOAT64_LE).astype(np.float64)


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
