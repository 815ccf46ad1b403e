"""PostgreSQL LISTEN/NOTIFY passes the voiceprint events contract, and survives losing its
listening connection (the backend terminated by the server): it reconnects, says so with None,
and hears the next notification."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.contract.voiceprint_events_contract import Replicas, VoiceprintEventsContract
from tests.integration import postgres_harness
from voiceauth_adapters.postgres import PostgresDatabase
from voiceauth_adapters.postgres.voiceprint_events import PostgresVoiceprintEvents
from voiceauth_core import InvalidInputError, StorageUnavailableError, UserId

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with postgres_harness.fresh_database("voiceauth_events") as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[PostgresDatabase]:
    async with PostgresDatabase(database_url, min_size=1, max_size=4) as opened:
        yield opened


def _channel() -> str:
    return f"voiceauth_test_{uuid.uuid4().hex}"


@pytest.fixture
async def events(database: PostgresDatabase, database_url: str) -> AsyncIterator[Replicas]:
    channel = _channel()
    made: list[PostgresVoiceprintEvents] = []

    def make() -> PostgresVoiceprintEvents:
        made.append(PostgresVoiceprintEvents(database, database_url, channel=channel))
        return made[-1]

    yield make
    for each in made:
        await each.close()


class TestPostgresVoiceprintEvents(VoiceprintEventsContract):
    pass


async def _next(stream: AsyncIterator[UserId | None]) -> UserId | None:
    return await asyncio.wait_for(anext(stream), timeout=10.0)


async def _terminate(admin_dsn: str, pid: int) -> None:
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid) is True
    finally:
        await conn.close()


async def test_a_terminated_listener_reconnects_says_so_and_hears_the_next_id(
    database: PostgresDatabase, database_url: str
) -> None:
    channel = _channel()
    listener = PostgresVoiceprintEvents(database, database_url, channel=channel, retry_s=0.05)
    publisher = PostgresVoiceprintEvents(database, database_url, channel=channel)
    before, after = UserId.new(), UserId.new()
    async with aclosing(listener.subscribe()) as stream:
        assert await _next(stream) is None
        await publisher.publish(before)
        assert await _next(stream) == before
        (pid,) = listener.listener_pids

        await _terminate(database_url, pid)
        assert await _next(stream) is None  # the gap: the subscriber re-syncs from the store
        assert listener.connects == 2
        (new_pid,) = listener.listener_pids
        assert new_pid != pid

        await publisher.publish(after)
        assert await _next(stream) == after
    assert listener.listener_pids == []  # closing the subscription closed its connection
    await listener.close()


class _FreezingProxy:
    """A TCP proxy to the server whose open connections can be frozen: they stay open but
    carry nothing more (a network that dropped without closing anything). Connections made
    after a freeze pass normally."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._frozen: set[asyncio.StreamWriter] = set()
        self._open: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> _FreezingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._open:
            writer.close()

    def freeze(self) -> None:
        self._frozen |= self._open

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._open |= {writer, up_writer}

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                if writer in self._frozen:
                    continue  # swallowed: nothing reaches the other side, nothing closes
                sink.write(data)
                await sink.drain()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


async def test_a_listener_that_stops_answering_is_replaced(
    database: PostgresDatabase, database_url: str
) -> None:
    # A half-open connection brings no termination: only the probe (SELECT 1 after probe_s of
    # silence, given probe_timeout_s) finds it.
    channel = _channel()
    parts = urlsplit(database_url)
    publisher = PostgresVoiceprintEvents(database, database_url, channel=channel)
    user = UserId.new()
    async with _FreezingProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        through = urlunsplit(parts._replace(netloc=f"postgres@127.0.0.1:{proxy.port}"))
        listener = PostgresVoiceprintEvents(
            database, through, channel=channel, retry_s=0.05, probe_s=0.3, probe_timeout_s=0.5
        )
        async with aclosing(listener.subscribe()) as stream:
            assert await _next(stream) is None
            proxy.freeze()
            await publisher.publish(UserId.new())  # lost in the frozen connection
            assert await _next(stream) is None  # the probe went unanswered: reconnected
            assert listener.connects == 2
            await publisher.publish(user)
            assert await _next(stream) == user
        await listener.close()


async def test_an_unreachable_server_is_retried_until_it_answers(
    database: PostgresDatabase,
) -> None:
    # Port 9 (discard) refuses connections: the subscription keeps retrying, never yields.
    listener = PostgresVoiceprintEvents(
        database, "postgresql://postgres@127.0.0.1:9/postgres", retry_s=0.01, max_retry_s=0.02
    )
    async with aclosing(listener.subscribe()) as stream:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(stream), timeout=0.5)
    assert listener.connects == 0
    await listener.close()


async def test_publishing_over_a_closed_pool_is_a_storage_error(database_url: str) -> None:
    database = PostgresDatabase(database_url)  # never opened
    events = PostgresVoiceprintEvents(database, database_url)
    with pytest.raises(StorageUnavailableError):
        await events.publish(UserId.new())


async def test_other_payloads_on_the_channel_are_ignored(
    database: PostgresDatabase, database_url: str
) -> None:
    channel = _channel()
    listener = PostgresVoiceprintEvents(database, database_url, channel=channel)
    user = UserId.new()
    async with aclosing(listener.subscribe()) as stream:
        assert await _next(stream) is None
        async with database.connection() as conn:
            await conn.execute("SELECT pg_notify($1, $2)", channel, "not a user id'; --")
        await listener.publish(user)
        assert await _next(stream) == user
    await listener.close()


def test_a_channel_name_postgres_would_truncate_is_refused(database_url: str) -> None:
    database = PostgresDatabase(database_url)
    with pytest.raises(InvalidInputError):
        PostgresVoiceprintEvents(database, database_url, channel="x" * 64)
    with pytest.raises(InvalidInputError):
        PostgresVoiceprintEvents(database, database_url, channel="")


def test_a_transaction_pooler_url_is_warned_about(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = PostgresDatabase(database_url)
    pooler = "postgresql://postgres.ref:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
    with caplog.at_level("WARNING", logger="voiceauth_adapters.postgres"):
        PostgresVoiceprintEvents(database, database_url)
        assert "transaction pooler" not in caplog.text
        PostgresVoiceprintEvents(database, pooler)
    assert "transaction pooler" in caplog.text
    assert "pw" not in caplog.text
