"""Whether the database offers pgvector (the ``vector`` extension): read once at start."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voiceauth_adapters.postgres.connection import PostgresDatabase

__all__ = ["VECTOR_QUERY", "VectorExtension", "vector_extension"]

#: One row: is ``vector`` installed in this database, and can it be (the server has its files)?
VECTOR_QUERY = """
SELECT
    EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS installed,
    EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available
"""


class VectorExtension(StrEnum):
    """What the database offers of pgvector."""

    INSTALLED = "installed"  # CREATE EXTENSION vector was run in this database
    AVAILABLE = "available"  # the server has it; nobody created it in this database
    NOT_AVAILABLE = "not available"

    @classmethod
    def of(cls, row: Any) -> VectorExtension:
        """Read :data:`VECTOR_QUERY`'s row (a mapping with ``installed`` and ``available``)."""
        if row["installed"]:
            return cls.INSTALLED
        if row["available"]:
            return cls.AVAILABLE
        return cls.NOT_AVAILABLE


async def vector_extension(database: PostgresDatabase) -> VectorExtension:
    """What ``database`` offers of pgvector.

    Raises:
        StorageUnavailableError: The database is unreachable.
    """

    async def read(conn: Any) -> VectorExtension:
        return VectorExtension.of(await conn.fetchrow(VECTOR_QUERY))

    return await database.read(read)
