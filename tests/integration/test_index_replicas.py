"""Two replicas over one real PostgreSQL and one real Redis: each replica's voiceprint index
follows the other's enrolments and erasures; Redis pub/sub passes the events contract."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from tests.contract.store_contract import T0, sample
from tests.contract.voiceprint_events_contract import Replicas, VoiceprintEventsContract
from tests.contract.voiceprint_index_contract import MODEL
from tests.integration import postgres_harness
from voiceauth_adapters.index import MatrixVoiceprintIndex
from voiceauth_adapters.index.redis_events import RedisVoiceprintEvents
from voiceauth_adapters.postgres import PostgresDatabase, PostgresUserRepository
from voiceauth_core import StorageUnavailableError, UserId
from voiceauth_web.index_keeper import GuardedIndex, IndexedUsers, IndexKeeper

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
