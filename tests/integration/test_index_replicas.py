"""Two replicas over one real PostgreSQL and one real Redis: each replica's voiceprint index
follows the other's enrolments and erasures; Redis pub/sub passes the events contract. Then two
replicas over PostgreSQL alone (LISTEN/NOTIFY): the same, plus the periodic re-sync healing a
change no event told, and a terminated listener reconnecting and re-syncing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.contract.store_contract import T0, sample
from tests.contract.voiceprint_events_contract import Replicas, VoiceprintEventsContract
from tests.contract.voiceprint_index_contract import MODEL
from tests.integration import postgres_harness
from tests.unit.web.app_harness import fake_container
from voiceauth_adapters.index import MatrixVoiceprintIndex
from voiceauth_adapters.index.redis_events import RedisVoiceprintEvents
from voiceauth_adapters.postgres import PostgresDatabase, PostgresUserRepository
from voiceauth_adapters.postgres.voiceprint_events import PostgresVoiceprintEvents
from voiceauth_adapters.sqlite import SqliteDatabase
from voiceauth_core import StorageUnavailableError, UserId
from voiceauth_core.testing import ALICE, wav_bytes
from voiceauth_web.app import create_app
from voiceauth_web.index_keeper import GuardedIndex, IndexedUsers, IndexKeeper, Repairs

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/10"


@pytest.fixture
async def events() -> AsyncIterator[Replicas]:
    channel = f"voiceauth:test:{uuid.uuid4()}"
    made: list[RedisVoiceprintEvents] = []

    def make() -> RedisVoiceprintEvents:
        made.append(RedisVoiceprintEvents(REDIS_URL, channel=channel))
        return made[-1]

    yield make
    for each in made:
        await each.close()


class TestRedisVoiceprintEvents(VoiceprintEventsContract):
    pass


async def test_publishing_to_an_unreachable_redis_is_a_storage_error() -> None:
    events = RedisVoiceprintEvents("redis://127.0.0.1:9/0")
    with pytest.raises(StorageUnavailableError):
        await events.publish(UserId.new())
    await events.close()


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with postgres_harness.fresh_database("voiceauth_index", migrated=True) as url:
        yield url


async def _until(members: Callable[[], Awaitable[list[uuid.UUID]]], wanted: set[uuid.UUID]) -> None:
    """Wait (up to 5 s) for an index to hold exactly ``wanted``: events are asynchronous."""
    for _ in range(500):
        if set(await members()) == wanted:
            return
        await asyncio.sleep(0.01)
    assert set(await members()) == wanted


async def test_each_replica_follows_the_others_enrolments_and_erasures(
    database_url: str, events: Replicas
) -> None:
    async with (
        PostgresDatabase(database_url, min_size=1, max_size=4) as one,
        PostgresDatabase(database_url, min_size=1, max_size=4) as two,
    ):
        before = UserId.new()
        await PostgresUserRepository(one).save_sample(
            before, None, sample(1), now=T0, replace=False
        )
        replicas = []
        for database in (one, two):
            store, channel = PostgresUserRepository(database), events()
            index = GuardedIndex(MatrixVoiceprintIndex(MODEL))
            keeper = IndexKeeper(store, index, channel)
            assert await keeper.start() == 1  # filled from the store, the source of truth
            replicas.append((index, IndexedUsers(store, index, channel), keeper))
        (index_a, users_a, keeper_a), (index_b, users_b, keeper_b) = replicas

        enrolled = UserId.new()
        await users_a.save_sample(enrolled, None, sample(2), now=T0, replace=False)
        assert set(await index_a.members()) == {before.value, enrolled.value}  # at once, here
        await _until(index_b.members, {before.value, enrolled.value})
        (hit,) = await index_b.search(sample(2).embedding, limit=1)
        assert hit.user_id == enrolled

        await users_b.save_sample(enrolled, None, sample(3), now=T0, replace=True)
        for _ in range(500):
            (hit,) = await index_a.search(sample(3).embedding, limit=1)
            if hit.cosine > 0.999:
                break
            await asyncio.sleep(0.01)
        assert hit.user_id == enrolled
        assert hit.cosine == pytest.approx(1.0, abs=1e-5)

        assert await users_b.delete(before)
        await _until(index_a.members, {enrolled.value})
        assert set(await index_b.members()) == {enrolled.value}
        await keeper_a.close()
        await keeper_b.close()


# Without Redis: PostgreSQL LISTEN/NOTIFY carries the events, and the periodic re-sync heals
# what no event told.


async def _terminate(admin_dsn: str, pid: int) -> None:
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid) is True
    finally:
        await conn.close()


async def _until_true(check: Callable[[], bool]) -> None:
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    assert check()


async def test_two_replicas_on_postgres_alone_follow_each_other_and_heal_what_was_missed(
    database_url: str,
) -> None:
    channel = f"voiceauth_test_{uuid.uuid4().hex}"
    now = T0 + timedelta(microseconds=123_457)  # a store must give the instant back exactly
    async with (
        PostgresDatabase(database_url, min_size=1, max_size=4) as one,
        PostgresDatabase(database_url, min_size=1, max_size=4) as two,
    ):
        replicas = []
        for database in (one, two):
            store = PostgresUserRepository(database)
            events = PostgresVoiceprintEvents(database, database_url, channel=channel, retry_s=0.05)
            index = GuardedIndex(MatrixVoiceprintIndex(MODEL))
            keeper = IndexKeeper(store, index, events, resync_s=0.2)
            await keeper.start()
            replicas.append((index, IndexedUsers(store, index, events), keeper, events))
        (index_a, users_a, keeper_a, _), (index_b, users_b, keeper_b, events_b) = replicas
        held = set(await index_a.members())
        assert set(await index_b.members()) == held

        # Followed through NOTIFY: an enrolment on A, an erasure on B.
        enrolled, erased = UserId.new(), UserId.new()
        await users_a.save_sample(enrolled, None, sample(11), now=now, replace=False)
        await users_a.save_sample(erased, None, sample(12), now=now, replace=False)
        await _until(index_b.members, held | {enrolled.value, erased.value})
        assert await users_b.delete(erased)
        await _until(index_a.members, held | {enrolled.value})
        assert keeper_a.repairs == keeper_b.repairs == 0  # the events did it all

        # A change no event told (made outside the service) is healed by the periodic re-sync.
        outside = UserId.new()
        await PostgresUserRepository(one).save_sample(
            outside, None, sample(13), now=now, replace=False
        )
        wanted = held | {enrolled.value, outside.value}
        await _until_slow(index_a.members, wanted)
        await _until_slow(index_b.members, wanted)
        assert keeper_a.repairs == keeper_b.repairs == 1

        # B loses its listening connection: it reconnects, re-syncs the whole index, and hears
        # the next event.
        fills = keeper_b.resyncs
        (pid,) = events_b.listener_pids
        await _terminate(database_url, pid)
        await _until_true(lambda: keeper_b.resyncs > fills)
        assert events_b.connects == 2
        late = UserId.new()
        await users_a.save_sample(late, None, sample(14), now=now, replace=False)
        await _until(index_b.members, wanted | {late.value})
        for _, _, keeper, events in replicas:
            await keeper.close()
            await events.close()


async def _until_slow(
    members: Callable[[], Awaitable[list[uuid.UUID]]], wanted: set[uuid.UUID]
) -> None:
    """Wait (up to 10 s) for an index to hold exactly ``wanted``: a periodic re-sync's time."""
    for _ in range(1000):
        if set(await members()) == wanted:
            return
        await asyncio.sleep(0.01)
    assert set(await members()) == wanted


async def test_a_resync_over_sqlite_finds_no_drift_in_what_the_service_enrolled(
    tmp_path: Path,
) -> None:
    # The re-sync compares the instant and sample count the index recorded with what the store
    # gives back: a store that rounded either would look like drift at every period.
    async with SqliteDatabase(tmp_path / "voiceauth.db") as database:
        await database.migrate()
        store, _ = database.stores(None)
        index = GuardedIndex(MatrixVoiceprintIndex(MODEL))
        keeper = IndexKeeper(store, index, None)
        assert await keeper.start() == 0
        users = IndexedUsers(store, index, None)
        for seed in range(3):
            now = T0 + timedelta(microseconds=123_457 * seed)
            await users.save_sample(UserId.new(), None, sample(seed), now=now, replace=False)
        assert await keeper.resync() == Repairs()
        await keeper.close()


def _postgres_app(tmp_path: Path, database_url: str) -> Any:
    """The real app on the real PostgreSQL (stores, events, start-up checks) without Redis;
    the model, detectors and decoder are the core's fakes, so it starts in a blink."""
    # No periodic re-sync: only the LISTEN/NOTIFY events can tell the other replica.
    container = fake_container(tmp_path, database_url=database_url, identify_resync_s=0.0)
    adapters = container.adapters
    for provider in (
        adapters.database,
        adapters.schema_check,
        adapters.template_check,
        adapters.raw_users,
        adapters.raw_attempts,
        adapters.watchlist,
        adapters.challenges,
    ):
        provider.reset_override()
    return create_app(container)


async def test_two_app_replicas_on_postgres_without_redis_identify_each_others_enrolments(
    tmp_path: Path, database_url: str
) -> None:
    user = str(uuid.uuid4())
    headers = {"X-Forwarded-For": "198.51.100.7"}
    files = {"file": ("a.wav", wav_bytes(ALICE.voice(seconds=5.0, seed=1)), "audio/wav")}
    one, two = (_postgres_app(tmp_path / name, database_url) for name in ("one", "two"))
    async with AsyncTestClient(one) as a, AsyncTestClient(two) as b:
        health = (await b.get("/api/v1/health")).json()["components"]["index"]
        assert health["events"] == "postgres"
        assert health["pgvector"] == "not available"
        assert health["synced"] == "yes"

        enrolled = await a.post(f"/api/v1/users/{user}/enrollments", files=files, headers=headers)
        assert enrolled.status_code == 200, enrolled.text
        probe = {"file": ("b.wav", wav_bytes(ALICE.voice(seconds=5.0, seed=7)), "audio/wav")}
        for _ in range(500):
            found = await b.post("/api/v1/identify", files=probe, headers=headers)
            assert found.status_code == 200, found.text
            if found.json()["match"] == user:
                break
            await asyncio.sleep(0.01)
        assert found.json()["match"] == user

        erased = await b.delete(f"/api/v1/users/{user}", headers=headers)
        assert erased.status_code in (200, 204)
        for _ in range(500):
            if user not in {str(m) for m in await one.state.index_status.index.members()}:
                break
            await asyncio.sleep(0.01)
        assert user not in {str(m) for m in await one.state.index_status.index.members()}
