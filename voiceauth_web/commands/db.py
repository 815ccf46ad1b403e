# ruff: noqa: PLC0415
"""``voiceauth db migrate`` and ``voiceauth db status``, and the schema check the service runs.

A command-line tool prints (T201); the database adapters (asyncpg) are imported inside the
functions so ``voiceauth --help`` stays fast (PLC0415).

The database is ``DATABASE_URL`` when set (Postgres, Supabase), else the embedded SQLite file
``$VOICEAUTH_DATA_DIR/voiceauth.db``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from voiceauth_web.settings import Settings

if TYPE_CHECKING:
    from voiceauth_adapters.migrations import SchemaStatus
    from voiceauth_adapters.postgres import PostgresDatabase
    from voiceauth_adapters.sqlite import SqliteDatabase
    from voiceauth_core.ports import AttemptLog, UserRepository

__all__ = ["MIGRATE_COMMAND", "build_database", "build_stores", "check_schema", "register"]

#: The command that brings a database up to this version's schema; named in start-up errors.
MIGRATE_COMMAND = "voiceauth db migrate"


def build_database(settings: Settings) -> PostgresDatabase | SqliteDatabase:
    """The configured database, not yet opened: Postgres for ``DATABASE_URL``, else SQLite.

    Raises:
        ValueError: ``DATABASE_URL`` is not a ``postgres://`` URL.
    """
    if settings.database_url:
        from voiceauth_adapters.postgres import PostgresDatabase

        return PostgresDatabase(
            settings.database_url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            statement_cache=settings.db_statement_cache,
        )
    from voiceauth_adapters.sqlite import SqliteDatabase

    return SqliteDatabase(settings.sqlite_path)


def build_stores(
    database: PostgresDatabase | SqliteDatabase,
) -> tuple[UserRepository, AttemptLog]:
    """The enrolment store and attempt log over ``database`` (usable once it is opened)."""
    from voiceauth_adapters.postgres import (
        PostgresAttemptLog,
        PostgresDatabase,
        PostgresUserRepository,
    )
    from voiceauth_adapters.sqlite import SqliteAttemptLog, SqliteUserRepository

    if isinstance(database, PostgresDatabase):
        return PostgresUserRepository(database), PostgresAttemptLog(database)
    return SqliteUserRepository(database), SqliteAttemptLog(database)


async def check_schema(database: PostgresDatabase | SqliteDatabase) -> None:
    """Refuse to serve on a database whose schema is behind or ahead of this code.

    Call it at start-up, after opening the database.

    Raises:
        SchemaVersionError: The message names what to do (``voiceauth db migrate``, or upgrade).
        StorageUnavailableError: The database cannot be reached.
    """
    status = await database.schema_status()
    status.require_current(migrate_command=MIGRATE_COMMAND)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``db migrate`` and ``db status`` to the command line."""
    db = subparsers.add_parser(
        "db",
        help="create, migrate or inspect the database",
        description=(
            "The database is DATABASE_URL when set (Postgres or Supabase), otherwise the "
            "embedded SQLite file $VOICEAUTH_DATA_DIR/voiceauth.db."
        ),
    )
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    migrate = actions.add_parser(
        "migrate",
        help="apply the migrations the database is missing (creates the embedded file)",
        description=(
            "Apply, in order and each in its own transaction, every migration the database "
            "has not applied yet. A database made by the original voiceauth service is "
            "upgraded in place and keeps its rows."
        ),
    )
    migrate.set_defaults(func=_run_migrate)
    status = actions.add_parser(
        "status",
        help="show the schema version; exit status 1 unless it matches this voiceauth",
    )
    status.set_defaults(func=_run_status)


def _run_migrate(args: argparse.Namespace) -> int:
    del args
    return asyncio.run(_migrate(Settings.from_env()))


def _run_status(args: argparse.Namespace) -> int:
    del args
    return asyncio.run(_status(Settings.from_env()))


async def _migrate(settings: Settings) -> int:
    from voiceauth_core.errors import StorageUnavailableError

    try:
        database = build_database(settings)
    except ValueError as exc:
        print(f"voiceauth: {exc}", file=sys.stderr)
        return 2
    print(f"database: {database.description}")
    try:
        async with database:
            applied = await database.migrate()
            status = await database.schema_status()
    except StorageUnavailableError as exc:
        print(f"voiceauth: {exc.message}", file=sys.stderr)
        return 1
    for migration in applied:
        print(f"applied {migration.label}")
    if not applied:
        print(f"already at schema version {status.version}; nothing to do")
    else:
        print(f"schema version {status.version}")
    return 0


async def _status(settings: Settings) -> int:
    from voiceauth_core.errors import StorageUnavailableError

    try:
        database = build_database(settings)
    except ValueError as exc:
        print(f"voiceauth: {exc}", file=sys.stderr)
        return 2
    print(f"database: {database.description}")
    if settings.database_url is None and not settings.sqlite_path.exists():
        print(f"no database file yet: run `{MIGRATE_COMMAND}` to create it", file=sys.stderr)
        return 1
    try:
        async with database:
            status = await database.schema_status()
    except StorageUnavailableError as exc:
        print(f"voiceauth: {exc.message}", file=sys.stderr)
        return 1
    _print_status(status)
    return 0 if status.is_current else 1


def _print_status(status: SchemaStatus) -> None:
    print(f"schema version: {status.version} (this voiceauth: {status.head})")
    if status.legacy:
        print("the original voiceauth service's tables are present, without migration history")
    for row in status.applied:
        print(f"  applied  {row.version:04d}_{row.name}  {row.applied_at.isoformat()}")
    for migration in status.pending:
        print(f"  pending  {migration.label}")
    for row in status.unknown:
        print(f"  unknown  {row.version:04d}_{row.name}  (made by a newer voiceauth)")
    for migration in status.altered:
        print(f"  altered  {migration.label}  (the file differs from the one applied)")
    from voiceauth_adapters.migrations import SchemaVersionError

    try:
        status.require_current(migrate_command=MIGRATE_COMMAND)
    except SchemaVersionError as exc:
        print(exc.message, file=sys.stderr)
    else:
        print("up to date")
