"""Schema migrations on Postgres: each in one transaction, serialised by an advisory lock."""

from __future__ import annotations

from typing import Any

import asyncpg

from voiceauth_adapters.migrations import (
    AppliedMigration,
    Migration,
    MigrationError,
    SchemaStatus,
    load_migrations,
)

__all__ = ["apply_migrations", "read_status"]

# pg_advisory_xact_lock key: "voiceauth" in ASCII; two migrators never interleave.
_LOCK_KEY = 0x766F69636561757468 & 0x7FFFFFFFFFFFFFFF

_CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


async def read_status(conn: Any) -> SchemaStatus:
    """Where the database's schema stands; changes nothing."""
    known = load_migrations("postgres")
    history, users = await conn.fetchrow(
        "SELECT to_regclass('schema_migrations') IS NOT NULL, to_regclass('users') IS NOT NULL"
    )
    if not history:
        return SchemaStatus(known=known, applied=(), legacy=users)
    rows = await conn.fetch(
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
    )
    applied = tuple(
        AppliedMigration(
            version=row["version"],
            name=row["name"],
            checksum=row["checksum"],
            applied_at=row["applied_at"],
        )
        for row in rows
    )
    return SchemaStatus(known=known, applied=applied)


async def apply_migrations(conn: Any) -> tuple[Migration, ...]:
    """Apply every missing migration in order; returns those applied (none when current).

    Each migration and its ``schema_migrations`` row commit together or not at all. A transaction
    advisory lock makes concurrent migrators (two replicas starting) wait for each other; the
    second finds the work done.

    Raises:
        SchemaVersionError: The database is ahead of this code or a migration file was edited.
        MigrationError: A migration failed (rolled back; the message is the server's).
    """
    status = await read_status(conn)
    status.require_not_ahead()
    done: list[Migration] = []
    for migration in status.pending:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await conn.execute(_CREATE_HISTORY)
            already = await conn.fetchval(
                "SELECT 1 FROM schema_migrations WHERE version = $1", migration.version
            )
            if already:
                continue
            try:
                await conn.execute(migration.sql)
            except asyncpg.PostgresError as exc:
                hint = f" ({exc.hint})" if getattr(exc, "hint", None) else ""
                raise MigrationError(
                    f"migration {migration.label} failed and was rolled back: {exc}{hint}"
                ) from exc
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
        done.append(migration)
    return tuple(done)
