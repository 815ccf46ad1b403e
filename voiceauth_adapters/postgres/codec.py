"""How a voiceprint vector is stored in a Postgres row: the one place to change its encoding.

In the clear it is a ``FLOAT8[]`` (``embedding``, ``embedding_sum``, ``phone_band_sum``); with a
template key it is sealed into the ``BYTEA`` column beside it (see
:class:`~voiceauth_adapters.sql.codec.Codec`). Ids and times are asyncpg's own ``UUID`` and
timezone-aware ``datetime``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import numpy as np

from voiceauth_adapters.sql.codec import Codec
from voiceauth_core.embedding import Vector

__all__ = [
    "CODEC",
    "PostgresCodec",
    "decode_clear",
    "decode_optional_vector",
    "decode_vector",
    "encode_optional_vector",
    "encode_vector",
]


class PostgresCodec(Codec[list[float]]):
    """asyncpg binds and returns ``UUID`` and ``datetime`` as they are; a vector is a float list."""

    def encode_id(self, value: uuid.UUID) -> uuid.UUID:
        """The UUID itself (a ``UUID`` column)."""
        return value

    def decode_id(self, stored: uuid.UUID) -> uuid.UUID:
        """The UUID itself."""
        return stored

    def encode_time(self, when: datetime) -> datetime:
        """The time itself (a ``TIMESTAMPTZ`` column)."""
        return when

    def decode_time(self, stored: datetime) -> datetime:
        """The time itself, timezone-aware."""
        return stored

    def clear_value(self, vector: Vector) -> list[float]:
        """The ``FLOAT8[]`` of a vector."""
        return [float(x) for x in vector]

    def clear_vector(self, stored: list[float]) -> Vector:
        """The vector of a ``FLOAT8[]``."""
        return np.array(stored, dtype=np.float64)


#: The codec of every Postgres store.
CODEC = PostgresCodec()
decode_clear = CODEC.decode_clear
encode_vector = CODEC.encode_vector
decode_vector = CODEC.decode_vector
encode_optional_vector = CODEC.encode_optional_vector
decode_optional_vector = CODEC.decode_optional_vector
