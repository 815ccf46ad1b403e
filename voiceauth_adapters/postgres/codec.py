"""How a voiceprint vector is stored in a Postgres row: the one place to change its encoding.

Today a ``FLOAT8[]``; a later version encrypts it with the user id as associated data, which is
why both functions take the user id.
"""

from __future__ import annotations

import numpy as np

from voiceauth_core.embedding import Vector
from voiceauth_core.identity import UserId

__all__ = ["decode_vector", "encode_vector"]


def encode_vector(user_id: UserId, vector: Vector) -> list[float]:
    """The column value for ``vector`` of ``user_id``."""
    del user_id  # the associated data of the coming encryption
    return [float(x) for x in vector]


def decode_vector(user_id: UserId, stored: list[float]) -> Vector:
    """The vector stored by :func:`encode_vector`."""
    del user_id
    return np.array(stored, dtype=np.float64)
