"""The Postgres connection pool: opened and closed with the app, driver errors made core errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from voiceauth_adapters.migrations import Migration, SchemaStatus
from voiceauth_adapters.postgres import templates
from voiceauth_adapters.postgres.attempts import PostgresAttemptLog
from voiceauth_adapters.postgres.challenges import PostgresChallengeStore
from voiceauth_adapters.postgres.migrator import apply_migrations, read_status
from voiceauth_adapters.postgres.users import PostgresUserRepository
from voiceauth_adapters.postgres.watchlist import PostgresWatchlist
from voiceauth_adapters.sealing.census import ResealProgress, TemplateCensus
from voiceauth_core.errors import StorageUnavailableError
from voiceauth_core.ports import AttemptLog, ChallengeStore, UserRepository, Watchlist

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["ConnectionOptions", "PostgresDatabase", "connection_options", "redacted_dsn"]

T = TypeVar("T")

_log = logging.getLogger("voiceauth_adapters.postgres")

#: Supabase's transaction pooler (Supavisor) listens on this port; like PgBouncer in transaction
#: mode it hands each transaction to any server connection, so named prepared statements break.
SUPABASE_TRANSACTION_POOLER_PORT = 6543
# asyncpg's default statement cache size, kept when prepared statements are safe.
_STATEMENT_CACHE_SIZE = 100

# A connection that broke or a server that is going away: the operation may be retried elsewhere.
_LOST: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)
# A connection in a state no longer worth trusting: closed by the pool instead of reused.
_BROKEN: tuple[type[BaseException], ...] = (
    *_LOST,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)
# Everything the driver or the socket can raise; all of it means "the store is failing".
_FAILING: tuple[type[BaseException], ...] = (
    *_BROKEN,
    TimeoutError,
    asyncpg.PostgresError,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionOptions:
    """What :func:`connection_options` decided about a ``DATABASE_URL``.

    Args:
        dsn: The URL to give asyncpg (options asyncpg does not know removed).
        statement_cache_size: 0 when prepared statements must not outlive a transaction.
    """

    dsn: str
    statement_cache_size: int


def connection_options(dsn: str, *, statement_cache: bool | None = None) -> ConnectionOptions:
    """Read a ``postgres://`` URL and decide whether asyncpg may cache prepared statements.

    With ``statement_cache`` None it is turned off for a transaction pooler: Supabase's on port
    6543, or any URL with ``pgbouncer=true`` (the query option other tools use; removed here).

    Raises:
        ValueError: The URL is not a ``postgres://`` or ``postgresql://`` URL.
    """
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError("DATABASE_URL must be a postgres:// or postgresql:// URL")
    query = parse_qsl(parts.query, keep_blank_values=True)
    pgbouncer = any(key == "pgbouncer" and value.lower() == "true" for key, value in query)
    kept = [(key, value) for key, value in query if key != "pgbouncer"]
    cleaned = urlunsplit(parts._replace(query=urlencode(kept)))
    try:
        port = parts.port
    except ValueError:
        raise ValueError("DATABASE_URL has a port that is not a number") from None
    if statement_cache is None:
        statement_cache = not (pgbouncer or port == SUPABASE_TRANSACTION_POOLER_PORT)
    return ConnectionOptions(
        dsn=cleaned, statement_cache_size=_STATEMENT_CACHE_SIZE if statement_cache else 0
    )


def redacted_dsn(dsn: str) -> str:
    """The URL without its password or query, for messages and logs."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "postgres://?"
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


class PostgresDatabase:
    """A pool of asyncpg connections, opened and closed by the application (a
    :class:`~voiceauth_adapters.sql.Database`).

    Repositories are made over it before it is opened; they fail with
    ``StorageUnavailableError`` until :meth:`open` has run. Every driver or socket error leaving
    :meth:`read` or :meth:`write` is a ``StorageUnavailableError`` (core errors raised inside
    pass unchanged). A connection that broke is dropped by the pool and replaced on the next
    acquire, so service resumes by itself once the database is back.

    Args:
        dsn: ``DATABASE_URL``.
        min_size: Connections kept open (``DB_POOL_MIN``).
        max_size: Most connections at once (``DB_POOL_MAX``).
        statement_cache: Cache prepared statements; None detects a transaction pooler
            (``DB_STATEMENT_CACHE``, see :func:`connection_options`).
        connect_timeout: Seconds to wait for a new connection or a free one from the pool.
        command_timeout: Seconds a statement may run.
    """

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        statement_cache: bool | None = None,
        connect_timeout: float = 10.0,
        command_timeout: float = 30.0,
    ) -> None:
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ValueError("the pool needs 0 <= min_size <= max_size and max_size >= 1")
        self._options = connection_options(dsn, statement_cache=statement_cache)
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: Any = None

    @property
    def description(self) -> str:
        """Where the data is, without secrets."""
        return redacted_dsn(self._options.dsn)

    @property
    def statement_cache_size(self) -> int:
        """The prepared-statement cache size in use (0 behind a transaction pooler)."""
        return self._options.statement_cache_size

    async def open(self) -> None:
        """Open the pool, connecting ``min_size`` connections.

        Raises:
            StorageUnavailableError: The database cannot be reached.
        """
        if self._pool is not None:
            return
        try:
            self._pool = await asyncpg.create_pool(
                self._options.dsn,
                min_size=self._min_size,
                max_size=self._max_size,
                statement_cache_size=self._options.statement_cache_size,
                timeout=self._connect_timeout,
                command_timeout=self._command_timeout,
            )
        except _FAILING as exc:
            raise StorageUnavailableError(
                f"cannot connect to the database at {self.description}"
            ) from exc

    async def close(self) -> None:
        """Close the pool, waiting a little for connections in use; idempotent."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout=self._connect_timeout)
        except _FAILING:
            pool.terminate()

    async def schema_status(self) -> SchemaStatus:
        """Where the database's schema stands against this code's migrations.

        Raises:
            StorageUnavailableError: The database is unreachable.
        """
        return await self.read(read_status)

    async def migrate(self) -> tuple[Migration, ...]:
        """Apply the missing migrations (see :func:`apply_migrations`); returns those applied.

        Raises:
            SchemaVersionError: The database is ahead of this code or a migration was edited.
            MigrationError: A migration failed and was rolled back.
            StorageUnavailableError: The database is unreachable.
        """
        async with self.connection() as conn:
            return await apply_migrations(conn)

    def stores(self, cipher: TemplateCipher | None = None) -> tuple[UserRepository, AttemptLog]:
        """The enrolment store and attempt log over this pool; ``cipher`` seals what they write."""
        return PostgresUserRepository(self, cipher=cipher), PostgresAttemptLog(self, cipher=cipher)

    def watchlist(self, cipher: TemplateCipher | None = None) -> Watchlist:
        """The fraud watchlist over this database; ``cipher`` seals the embeddings it writes."""
        return PostgresWatchlist(self, cipher=cipher)

    def challenges(self) -> ChallengeStore:
        """The liveness challenges over this database."""
        return PostgresChallengeStore(self)

    async def template_census(self) -> TemplateCensus:
        """Rows in the clear, and rows sealed by key id; changes nothing."""
        return await templates.template_census(self)

    def reseal_templates(
        self, cipher: TemplateCipher, *, batch_size: int = 500
    ) -> AsyncIterator[ResealProgress]:
        """Seal every voiceprint under the cipher's key, batch by batch (:mod:`.templates`)."""
        return templates.reseal_templates(self, cipher, batch_size=batch_size)

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

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A connection from the pool, with driver errors raised as ``StorageUnavailableError``.

        Raises:
            StorageUnavailableError: The pool is closed or the database failed.
        """
        if self._pool is None:
            raise StorageUnavailableError("the database pool is not open")
        try:
            async with self._pool.acquire(timeout=self._connect_timeout) as conn:
                try:
                    yield conn
                except _BROKEN:
                    conn.terminate()  # the pool replaces it on the next acquire
                    raise
        except _FAILING as exc:
            _log.warning("database operation failed: %s", type(exc).__name__)
            raise StorageUnavailableError("the database is unavailable; try again later") from exc

    async def read(self, operation: Callable[[Any], Awaitable[T]]) -> T:
        """Run a read-only operation; retried once on a fresh connection if its connection broke.

        Raises:
            StorageUnavailableError: The database failed (twice, for a broken connection).
        """
        try:
            async with self.connection() as conn:
                return await operation(conn)
        except StorageUnavailableError as exc:
            if not isinstance(exc.__cause__, _LOST):
                raise
        async with self.connection() as conn:
            return await operation(conn)

    async def write(self, operation: Callable[[Any], Awaitable[T]]) -> T:
        """Run an operation in one transaction: all of it is committed or none.

        Never retried: a connection lost during COMMIT leaves its outcome unknown.

        Raises:
            StorageUnavailableError: The database failed.
        """
        async with self.connection() as conn, conn.transaction():
            return await operation(conn)
