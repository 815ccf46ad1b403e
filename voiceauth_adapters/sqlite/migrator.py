"""Schema migrations on SQLite: each in one ``BEGIN IMMEDIATE`` transaction (DDL included)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from voiceauth_adapters.migrations import (
    AppliedMigration,
    Migration,
    MigrationError,
    SchemaStatus,
    load_migrations,
)
from voiceauth_adapters.sqlite.codec import decode_time, encode_time
from voiceauth_core.clock import SystemClock

__all__ = ["apply_migrations", "read_status", "statements"]

_CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


def statements(sql: str) -> Iterator[str]:
    """The statements of a script, one at a time (``executescript`` would commit on its own).

    Raises:
        ValueError: The script ends with an unterminated statement.
    """
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    rest = [
        line for line in buffer.splitlines() if line.strip() and not line.strip().startswith("--")
    ]
    if rest:
        raise ValueError("a migration ends with a statement that has no semicolon")


def _exists(conn: sqlite3.Connection, table: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return found is not None


def read_status(conn: sqlite3.Connection) -> SchemaStatus:
    """Where the database's schema stands; changes nothing."""
    known = load_migrations("sqlite")
    if not _exists(conn, "schema_migrations"):
        return SchemaStatus(known=known, applied=(), legacy=_exists(conn, "users"))
    rows = conn.execute(
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
    ).fetchall()
    applied = tuple(
        AppliedMigration(
            version=version, name=name, checksum=checksum, applied_at=decode_time(applied_at)
        )
        for version, name, checksum, applied_at in rows
    )
    return SchemaStatus(known=known, applied=applied)


def apply_migrations(conn: sqlite3.Connection) -> tuple[Migration, ...]:
    """Apply every missing migration in order; returns those applied (none when current).

    ``BEGIN IMMEDIATE`` takes the write lock first, so a second process migrating at the same
    time waits, then finds the work done.

    Raises:
        SchemaVersionError: The database is ahead of this code or a migration file was edited.
        MigrationError: A migration failed (rolled back).
    """
    status = read_status(conn)
    status.require_not_ahead()
    done: list[Migration] = []
    for migration in status.pending:
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_CREATE_HISTORY)
            already = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            ).fetchone()
            if already is None:
                for statement in statements(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at)"
                    " VALUES (?, ?, ?, ?)",
                    (
                        migration.version,
                        migration.name,
                        migration.checksum,
                        encode_time(SystemClock().now()),
                    ),
                )
                done.append(migration)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationError(
                f"migration {migration.label} failed and was rolled back: {exc}"
            ) from exc
    return tuple(done)
