"""What every database adapter offers its callers, so they need not know which one they hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

if TYPE_CHECKING:
    from voiceauth_adapters.migrations import Migration, SchemaStatus
    from voiceauth_adapters.sealing import ResealProgress, TemplateCensus
    from voiceauth_adapters.sealing.cipher import TemplateCipher
    from voiceauth_core.ports import AttemptLog, ChallengeStore, UserRepository, Watchlist

__all__ = ["Database"]


class Database(Protocol):
    """A database of enrolments and attempts (PostgreSQL, SQLite), opened and closed by its owner.

    ``async with database:`` opens and closes it. Every method but :meth:`stores` and
    :attr:`description` needs it open.
    """

    @property
    def description(self) -> str:
        """Where the data is, without secrets."""
        ...

    async def open(self) -> None:
        """Connect (creating an embedded file if needed); a second call does nothing.

        Raises:
            StorageUnavailableError: The database cannot be reached or opened.
        """
        ...

    async def close(self) -> None:
        """Disconnect; idempotent."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def schema_status(self) -> SchemaStatus:
        """Where the database's schema stands against this code's migrations.

        Raises:
            StorageUnavailableError: The database is unreachable.
        """
        ...

    async def migrate(self) -> tuple[Migration, ...]:
        """Apply the missing migrations, each in its own transaction; returns those applied.

        Raises:
            SchemaVersionError: The database is ahead of this code or a migration was edited.
            MigrationError: A migration failed and was rolled back.
            StorageUnavailableError: The database is unreachable.
        """
        ...

    def stores(self, cipher: TemplateCipher | None = None) -> tuple[UserRepository, AttemptLog]:
        """The enrolment store and attempt log over this database (usable once it is opened).

        With a ``cipher`` the store seals every voiceprint it writes (and the attempt log every
        probe embedding); without, it writes them in the clear. It reads both.
        """
        ...

    def watchlist(self, cipher: TemplateCipher | None = None) -> Watchlist:
        """The fraud watchlist over this database (usable once it is opened); with a ``cipher``
        it seals every embedding it writes."""
        ...

    def challenges(self) -> ChallengeStore:
        """The liveness challenges over this database (usable once it is opened)."""
        ...

    async def template_census(self) -> TemplateCensus:
        """Rows in the clear, and rows sealed by key id; changes nothing.

        Raises:
            StorageUnavailableError: The database is unreachable.
        """
        ...

    def reseal_templates(
        self, cipher: TemplateCipher, *, batch_size: int = 500
    ) -> AsyncIterator[ResealProgress]:
        """Seal every voiceprint under the cipher's current key, ``batch_size`` rows per
        transaction (see :func:`~voiceauth_adapters.sql.resealing.reseal_in_batches`).

        Yields:
            The progress after each committed batch.

        Raises:
            TemplateProtectionError: A sealed vector does not open; its batch is rolled back.
            StorageUnavailableError: The database failed.
        """
        ...
