"""The embedded SQLite database: one connection on its own thread, so the event loop never waits."""

from __future__ import annotations

import asyncio
import functools
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeVar

from voiceauth_adapters.migrations import Migration, SchemaStatus
from voiceauth_adapters.sealing.census import ResealProgress, TemplateCensus
from voiceauth_adapters.sqlite import templates
from voiceauth_adapters.sqlite.attempts import SqliteAttemptLog
from voiceauth_adapters.sqlite.challenges import SqliteChallengeStore
from voiceauth_adapters.sqlite.migrator import apply_migrations, read_status
from voiceauth_adapters.sqlite.users import SqliteUserRepository
from voiceauth_adapters.sqlite.watchlist import SqliteWatchlist
from voiceauth_core.errors import StorageUnavailableError
from voiceauth_core.ports import AttemptLog, ChallengeStore, UserRepository, Watchlist

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["SqliteDatabase"]

T = TypeVar("T")


def _in_transaction(operation: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    """Run ``operation`` between ``BEGIN IMMEDIATE`` and ``COMMIT``; roll back on any error."""
    # IMMEDIATE takes the write lock before the first read, so a read-modify-write cannot be
    # overtaken by another process writing the same file.
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = operation(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


class SqliteDatabase:
    """A SQLite file in WAL mode with foreign keys on, used from one dedicated thread (a
    :class:`~voiceauth_adapters.sql.Database`).

    Every operation runs on that thread, one at a time, so the event loop never blocks on the
    disk and the writes of this process are serialised; ``BEGIN IMMEDIATE`` serialises them with
    other processes using the same file (the CLI next to the service). The file and its folder
    are made readable by the owner only: they hold voiceprints.

    Args:
        path: The database file (``$VOICEAUTH_DATA_DIR/voiceauth.db``); created if missing.
        busy_timeout: Seconds to wait for another process's write lock before giving up.
    """

    def __init__(self, path: Path, *, busy_timeout: float = 5.0) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    @property
    def description(self) -> str:
        """Where the data is."""
        return f"sqlite:///{self._path}"

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    async def open(self) -> None:
        """Create the file if needed and connect.

        Raises:
            StorageUnavailableError: The file cannot be created or opened.
        """
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voiceauth-sqlite")
        try:
            self._conn = await self._submit(self._connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    def _connect(self) -> sqlite3.Connection:
        try:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Created owner-only before SQLite opens it; its -wal and -shm files copy the mode.
            os.close(os.open(self._path, os.O_CREAT | os.O_RDWR, 0o600))
            conn = sqlite3.connect(self._path, timeout=self._busy_timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StorageUnavailableError(f"cannot open the database file {self._path}") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise sqlite3.OperationalError(f"journal mode stays {mode!r}")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            conn.close()
            raise StorageUnavailableError(
                f"cannot use the database file {self._path} in WAL mode"
            ) from exc
        return conn

    async def close(self) -> None:
        """Close the connection and stop its thread; idempotent."""
        executor, self._executor = self._executor, None
        conn, self._conn = self._conn, None
        if executor is None:
            return
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=False)

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _submit(self, function: Callable[[], T]) -> T:
        if self._executor is None:
            raise StorageUnavailableError("the database is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    async def read(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation`` with the connection on the database thread.

        Raises:
            StorageUnavailableError: The database is closed or failing (locked, disk error).
        """
        conn = self._conn
        if conn is None:
            raise StorageUnavailableError("the database is not open")
        try:
            return await self._submit(functools.partial(operation, conn))
        except sqlite3.Error as exc:
            raise StorageUnavailableError("the database is unavailable; try again later") from exc

    async def write(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation`` in one ``BEGIN IMMEDIATE`` transaction: all of it or none.

        Raises:
            StorageUnavailableError: The database is closed or failing (locked, disk error).
        """
        return await self.read(functools.partial(_in_transaction, operation))

    async def schema_status(self) -> SchemaStatus:
        """Where the database's schema stands against this code's migrations.

        Raises:
            StorageUnavailableError: The database is closed or failing.
        """
        return await self.read(read_status)

    async def migrate(self) -> tuple[Migration, ...]:
        """Apply the missing migrations; returns those applied.

        Raises:
            SchemaVersionError: The database is ahead of this code or a migration was edited.
            MigrationError: A migration failed and was rolled back.
            StorageUnavailableError: The database is closed or failing.
        """
        return await self.read(apply_migrations)

    def stores(self, cipher: TemplateCipher | None = None) -> tuple[UserRepository, AttemptLog]:
        """The enrolment store and attempt log over this file; ``cipher`` seals what they write."""
        return SqliteUserRepository(self, cipher=cipher), SqliteAttemptLog(self, cipher=cipher)

    def watchlist(self, cipher: TemplateCipher | None = None) -> Watchlist:
        """The fraud watchlist over this database; ``cipher`` seals the embeddings it writes."""
        return SqliteWatchlist(self, cipher=cipher)

    def challenges(self) -> ChallengeStore:
        """The liveness challenges over this database."""
        return SqliteChallengeStore(self)

    async def template_census(self) -> TemplateCensus:
        """Rows in the clear, and rows sealed by key id; changes nothing."""
        return await templates.template_census(self)

    def reseal_templates(
        self, cipher: TemplateCipher, *, batch_size: int = 500
    ) -> AsyncIterator[ResealProgress]:
        """Seal every voiceprint under the cipher's key, batch by batch (:mod:`.templates`)."""
        return templates.reseal_templates(self, cipher, batch_size=batch_size)
