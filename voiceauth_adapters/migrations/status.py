"""Where a database's schema stands against the code's migrations, and the errors of migrating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from voiceauth_adapters.migrations.catalog import Migration
from voiceauth_core.errors import StorageUnavailableError

__all__ = ["AppliedMigration", "MigrationError", "SchemaStatus", "SchemaVersionError"]


class SchemaVersionError(StorageUnavailableError):
    """The database's schema is behind or ahead of the code, or a migration file was edited.

    Raised at start-up (the service refuses to run) and by ``migrate`` on a newer database; the
    message says what to do.
    """


class MigrationError(StorageUnavailableError):
    """A migration failed; its transaction was rolled back, so the database is as it was."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AppliedMigration:
    """A row of ``schema_migrations``."""

    version: int
    name: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaStatus:
    """The migrations the code knows against those the database has applied.

    Args:
        known: The code's migrations, in version order.
        applied: The database's ``schema_migrations`` rows, in version order.
        legacy: The database has the original service's tables but no ``schema_migrations``.
    """

    known: tuple[Migration, ...]
    applied: tuple[AppliedMigration, ...]
    legacy: bool = False

    @property
    def head(self) -> int:
        """The newest version the code knows."""
        return self.known[-1].version if self.known else 0

    @property
    def version(self) -> int:
        """The newest version the database has applied (0 for none)."""
        return max((row.version for row in self.applied), default=0)

    @property
    def pending(self) -> tuple[Migration, ...]:
        """The code's migrations the database has not applied, in order."""
        done = {row.version for row in self.applied}
        return tuple(m for m in self.known if m.version not in done)

    @property
    def unknown(self) -> tuple[AppliedMigration, ...]:
        """Applied migrations this code does not know: the database is ahead of the code."""
        known = {m.version for m in self.known}
        return tuple(row for row in self.applied if row.version not in known)

    @property
    def altered(self) -> tuple[Migration, ...]:
        """Migrations whose file changed after the database applied it."""
        sums = {row.version: row.checksum for row in self.applied}
        return tuple(m for m in self.known if sums.get(m.version, m.checksum) != m.checksum)

    @property
    def is_current(self) -> bool:
        """The database has exactly the code's migrations, unedited."""
        return not (self.pending or self.unknown or self.altered)

    def require_current(self, *, migrate_command: str) -> None:
        """Refuse a schema that does not match the code.

        Args:
            migrate_command: The command that applies missing migrations, named in the message.

        Raises:
            SchemaVersionError: The schema is ahead, behind or was migrated with other files.
        """
        self.require_not_ahead()
        if self.pending:
            names = ", ".join(m.label for m in self.pending)
            found = (
                "has the original voiceauth service's tables and no migration history"
                if self.legacy
                else f"is at schema version {self.version}"
            )
            raise SchemaVersionError(
                f"the database {found}; this voiceauth needs version {self.head}. "
                f"Run `{migrate_command}` to apply {names}."
            )

    def require_not_ahead(self) -> None:
        """Refuse a database migrated by a newer voiceauth or with edited files.

        Raises:
            SchemaVersionError: Said database.
        """
        if self.unknown:
            raise SchemaVersionError(
                f"the database is at schema version {self.version}, newer than this voiceauth "
                f"knows (version {self.head}): upgrade voiceauth, or point it at another database"
            )
        if self.altered:
            names = ", ".join(m.label for m in self.altered)
            raise SchemaVersionError(
                f"migration {names} differs from the one this database applied: reinstall the "
                "released voiceauth (migration files must never be edited; add a new one instead)"
            )
