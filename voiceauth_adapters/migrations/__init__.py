"""Versioned, forward-only SQL migrations for the Postgres and SQLite stores, and schema status.

The SQL files ship inside the package (``voiceauth_adapters/migrations/<dialect>/NNNN_name.sql``)
so that an installed wheel can migrate; the repository's top-level ``migrations/`` links here.
"""

from voiceauth_adapters.migrations.catalog import (
    DIALECTS,
    LEGACY_MODEL_ID,
    Migration,
    load_migrations,
)
from voiceauth_adapters.migrations.status import (
    AppliedMigration,
    MigrationError,
    SchemaStatus,
    SchemaVersionError,
)

__all__ = [
    "DIALECTS",
    "LEGACY_MODEL_ID",
    "AppliedMigration",
    "Migration",
    "MigrationError",
    "SchemaStatus",
    "SchemaVersionError",
    "load_migrations",
]
