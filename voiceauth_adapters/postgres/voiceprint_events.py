"""Voiceprint changes told to every replica over PostgreSQL ``LISTEN``/``NOTIFY`` (no Redis).

A notification's payload is the user id alone (36 ASCII characters, far under ``NOTIFY``'s
8000-byte limit), sent with ``pg_notify($1, $2)`` so that neither the channel nor the payload is
ever quoted into SQL. Each replica reads the enrolment from the store, the source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, Final

import asyncpg

from voiceauth_adapters.postgres.connection import connection_options, redacted_dsn
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.identity import UserId

if TYPE_CHECKING:
    from voiceauth_adapters.postgres.connection import PostgresDatabase

__all__ = ["CHANNEL", "PostgresVoiceprintEvents"]

_log = logging.getLogger("voiceauth_adapters.postgres")

#: The notification channel (per database). Postgres channel names are identifiers: at most
#: 63 bytes.
CHANNEL = "voiceauth_voiceprints"
_MAX_CHANNEL_BYTES = 63
# What a lost listening connection looks like: the socket, the server going away, the driver
# noticing a closed connection, or a health probe that did not answer.
_LOST: Final[tuple[type[BaseException], ...]] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


class _Gap:
    """Put on the queue when the listening connection ended: messages may have been lost."""


class PostgresVoiceprintEvents:
    """The ``VoiceprintEvents`` port over PostgreSQL ``LISTEN``/``NOTIFY``.

    Publishing goes through the service's pool (``pg_notify`` works through a transaction
    pooler too). Listening holds one connection of its own for as long as a subscription lasts:
    ``LISTEN`` needs a session, so ``dsn`` must reach the database directly or through a session
    pooler (Supabase's port 5432, not the transaction pooler's 6543). Like Redis pub/sub,
    ``NOTIFY`` keeps nothing for a listener that is away: when the listening connection is lost
    (the server restarted, the backend was terminated, the network dropped, or a health probe
    went unanswered), the subscription reconnects with a doubling pause and yields None, so that
    the replica re-syncs its index from the store.

    Args:
        database: The service's pool, for publishing.
        dsn: Where to listen (``DATABASE_URL``).
        channel: The notification channel (at most 63 bytes).
        retry_s: The first pause before reconnecting; it doubles after each failed attempt.
        max_retry_s: The longest pause between attempts.
        probe_s: After this long without a notification, the listening connection is probed
            with ``SELECT 1`` (a half-open TCP connection says nothing by itself).
        probe_timeout_s: How long the probe may take before the connection counts as lost.
        connect_timeout_s: How long one connection attempt may take.

    Raises:
        InvalidInputError: The channel name is empty or longer than 63 bytes.
    """

    def __init__(
        self,
        database: PostgresDatabase,
        dsn: str,
        *,
        channel: str = CHANNEL,
        retry_s: float = 0.5,
        max_retry_s: float = 30.0,
        probe_s: float = 30.0,
        probe_timeout_s: float = 5.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        if not 0 < len(channel.encode()) <= _MAX_CHANNEL_BYTES:
            raise InvalidInputError("a notification channel name has 1 to 63 bytes")
        self._database = database
        options = connection_options(dsn)
        self._dsn = options.dsn
        if options.statement_cache_size == 0:
            # A transaction pooler hands each transaction to any server connection: LISTEN
            # needs a session of its own, so notifications may never arrive through it.
            _log.warning(
                "voiceprint events: DATABASE_URL points at a transaction pooler, where LISTEN "
                "does not hold; other replicas' changes may reach this one only at the periodic "
                "re-sync (set REDIS_URL, or use the session pooler or a direct connection)"
            )
        self._channel = channel
        self._retry_s = retry_s
        self._max_retry_s = max_retry_s
        self._probe_s = probe_s
        self._probe_timeout_s = probe_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._listening: set[Any] = set()
        #: Connections made for listening (the first included); tests and logs read it.
        self.connects = 0

    @property
    def listener_pids(self) -> list[int]:
        """The server process ids of the open listening connections (for operators and tests)."""
        return [conn.get_server_pid() for conn in self._listening if not conn.is_closed()]

    async def publish(self, user_id: UserId) -> None:
        """Notify the channel of the user id.

        Raises:
            StorageUnavailableError: The database could not be reached.
        """
        async with self._database.connection() as conn:
            await conn.execute("SELECT pg_notify($1, $2)", self._channel, str(user_id.value))

    async def subscribe(self) -> AsyncGenerator[UserId | None, None]:
        """None once listening (and again after each reconnect), then each notified user id."""
        pause = self._retry_s
        while True:
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=self._connect_timeout_s, statement_cache_size=0
                )
            except _LOST as exc:
                _log.warning(
                    "voiceprint events: cannot listen on %s (%s); retrying in %.1f s",
                    redacted_dsn(self._dsn),
                    type(exc).__name__,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, self._max_retry_s)
                continue
            self.connects += 1
            queue: asyncio.Queue[UserId | _Gap] = asyncio.Queue()
            self._listening.add(conn)
            try:
                try:
                    await self._listen(conn, queue)
                except _LOST as exc:
                    _log.warning(
                        "voiceprint events: LISTEN failed (%s); retrying", type(exc).__name__
                    )
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, self._max_retry_s)
                    continue
                pause = self._retry_s
                yield None
                async for user_id in self._heard(conn, queue):
                    yield user_id
                _log.warning(
                    "voiceprint events: the listening connection was lost; reconnecting, then "
                    "the index is re-synced"
                )
            finally:
                self._listening.discard(conn)
                with contextlib.suppress(*_LOST):
                    await asyncio.wait_for(conn.close(), timeout=self._probe_timeout_s)
                if not conn.is_closed():
                    conn.terminate()

    async def _listen(self, conn: Any, queue: asyncio.Queue[UserId | _Gap]) -> None:
        def heard(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            user_id = _user_id(payload)
            if user_id is not None:
                queue.put_nowait(user_id)

        def ended(_conn: object) -> None:
            queue.put_nowait(_Gap())

        conn.add_termination_listener(ended)
        await conn.add_listener(self._channel, heard)

    async def _heard(
        self, conn: Any, queue: asyncio.Queue[UserId | _Gap]
    ) -> AsyncGenerator[UserId, None]:
        """Each user id heard on ``conn``, until the connection ends or stops answering."""
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=self._probe_s)
            except TimeoutError:
                if conn.is_closed():
                    return
                try:
                    await conn.fetchval("SELECT 1", timeout=self._probe_timeout_s)
                except _LOST:
                    return
                continue
            if isinstance(item, _Gap):
                return
            yield item

    async def close(self) -> None:
        """Close the listening connections still open (subscriptions end with their own)."""
        for conn in list(self._listening):
            conn.terminate()
        self._listening.clear()


def _user_id(payload: str) -> UserId | None:
    """The user id of a notification, or None for anything else on the channel."""
    try:
        return UserId.parse(payload)
    except InvalidInputError:
        return None
