"""Embedded storage (stdlib sqlite3): the default when ``DATABASE_URL`` is unset.

The same tables and behaviour as the Postgres adapter in one file under the data directory, in
WAL mode with foreign keys on, used from a dedicated thread so the event loop never blocks.
"""

from voiceauth_adapters.sqlite.attempts import SqliteAttemptLog
from voiceauth_adapters.sqlite.connection import SqliteDatabase
from voiceauth_adapters.sqlite.migrator import apply_migrations, read_status
from voiceauth_adapters.sqlite.templates import reseal_templates, template_census
from voiceauth_adapters.sqlite.users import SqliteUserRepository

__all__ = [
    "SqliteAttemptLog",
    "SqliteDatabase",
    "SqliteUserRepository",
    "apply_migrations",
    "read_status",
    "reseal_templates",
    "template_census",
]
