"""Postgres storage (asyncpg): enrolments, the attempt log and schema migrations.

Only imported when used: it needs the ``postgres`` extra (asyncpg). Works with a plain
PostgreSQL 13+ and with Supabase (direct, session pooler, or transaction pooler with the
statement cache off, which is detected on port 6543).
"""

from voiceauth_adapters.postgres.attempts import PostgresAttemptLog
from voiceauth_adapters.postgres.connection import (
    ConnectionOptions,
    PostgresDatabase,
    connection_options,
    redacted_dsn,
)
from voiceauth_adapters.postgres.migrator import apply_migrations, read_status
from voiceauth_adapters.postgres.templates import reseal_templates, template_census
from voiceauth_adapters.postgres.users import PostgresUserRepository

__all__ = [
    "ConnectionOptions",
    "PostgresAttemptLog",
    "PostgresDatabase",
    "PostgresUserRepository",
    "apply_migrations",
    "connection_options",
    "read_status",
    "redacted_dsn",
    "reseal_templates",
    "template_census",
]
