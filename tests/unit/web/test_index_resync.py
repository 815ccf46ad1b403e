"""The index keeper's periodic re-sync over the core's fakes: a missed event (a change made
without publishing, or a publish that never arrived) is healed at the next re-sync, counted,
and logged; agreement changes nothing; the readiness component; the pgvector note."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from tests.unit.web.app_harness import fake_app
from voiceauth_adapters.postgres.extensions import VectorExtension
from voiceauth_core import Embedding, Enrollment, EnrollmentSample, UserId
from voiceauth_core.testing import (
    InMemoryStore,
    InMemoryUserRepository,
    InMemoryVoiceprintEvents,
    InMemoryVoiceprintIndex,
    ManualClock,
)
from voiceauth_web.index_keeper import GuardedIndex, IndexedUsers, IndexKeeper, Repairs
from voiceauth_web.observability import Metrics
from voiceauth_web.startup_checks import VECTOR_SEARCH_REASON, vector_search_note

pytestmark = pytest.mark.unit

MODEL = "test/model-a"


def _sample(x: float, model: str = MODEL) -> EnrollmentSample:
    return EnrollmentSample(
        embedding=Embedding.from_vector([1.0, x, 0.5], model), speech_seconds=4.0
    )


class Replica:
    """One replica over a shared store: its guarded index, its service-side store, its keeper."""

    def __init__(
        self,
        store: InMemoryStore,
        events: InMemoryVoiceprintEvents | None,
        *,
        resync_s: float = 0.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.index = GuardedIndex(InMemoryVoiceprintIndex(MODEL))
        self.users = IndexedUsers(InMemoryUserRepository(store), self.index, events)
        self.keeper = IndexKeeper(
            InMemoryUserRepository(store),
            self.index,
            events,
            resync_s=resync_s,
            on_repair=None if metrics is None else metrics.count_index_repairs,
        )

    async def members(self) -> set[uuid.UUID]:
        return set(await self.index.members())


async def _until_members(replica: Replica, wanted: set[uuid.UUID], *, seconds: float) -> None:
    for _ in range(int(seconds / 0.01)):
        if await replica.members() == wanted:
            return
        await asyncio.sleep(0.01)
    assert await replica.members() == wanted


async def test_an_enrolment_and_an_erasure_never_published_are_healed_at_the_next_resync() -> None:
    store, clock = InMemoryStore(), ManualClock()
    outside = InMemoryUserRepository(store)  # a change made outside the service: no event
    kept, erased = UserId.new(), UserId.new()
    for user in (kept, erased):
        await outside.save_sample(user, None, _sample(0.1), now=clock.now(), replace=False)
    metrics = Metrics()
    replica = Replica(store, InMemoryVoiceprintEvents(), resync_s=0.05, metrics=metrics)
    assert await replica.keeper.start() == 2

    missed = UserId.new()
    await outside.save_sample(missed, None, _sample(0.2), now=clock.now(), replace=False)
    assert await outside.delete(erased)
    assert await replica.members() == {kept.value, erased.value}  # drifted: nobody was told

    await _until_members(replica, {kept.value, missed.value}, seconds=2.0)
    assert replica.keeper.repairs == 2
    assert replica.keeper.resyncs == 1  # repaired in place, not refilled
    sample = metrics.registry.get_sample_value
    assert sample("voiceauth_index_repairs_total", {"kind": "added"}) == 1
    assert sample("voiceauth_index_repairs_total", {"kind": "removed"}) == 1
    assert sample("voiceauth_index_repairs_total", {"kind": "updated"}) is None
    await replica.keeper.close()


async def test_a_missed_reenrolment_is_repaired_as_an_update_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock = InMemoryStore(), ManualClock()
    one, two = Replica(store, None), Replica(store, None)  # no events: nothing crosses
    user = UserId.new()
    await one.users.save_sample(user, None, _sample(0.1), now=clock.now(), replace=False)
    assert await two.keeper.start() == 1
    clock.advance(5)
    await one.users.save_sample(user, None, _sample(-0.9), now=clock.now(), replace=True)
    probe = _sample(-0.9).embedding
    assert (await two.index.search(probe, limit=1))[0].cosine < 0.99  # the old voiceprint

    with _loguru_into(caplog):
        assert await two.keeper.resync() == Repairs(updated=1)
    assert "drifted from the store" in caplog.text
    assert (await two.index.search(probe, limit=1))[0].cosine == pytest.approx(1.0)
    assert await two.keeper.resync() == Repairs()  # now in agreement: nothing more
    await two.keeper.close()


async def test_a_resync_of_an_index_in_agreement_repairs_nothing_and_logs_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock = InMemoryStore(), ManualClock()
    events = InMemoryVoiceprintEvents()
    replica = Replica(store, events)
    assert await replica.keeper.start() == 0
    for x in (0.1, 0.2, 0.3):
        await replica.users.save_sample(
            UserId.new(), None, _sample(x), now=clock.now(), replace=False
        )
    other_model = UserId.new()  # held by no index of this model: not drift either
    await replica.users.save_sample(
        other_model, None, _sample(0.4, "test/model-b"), now=clock.now(), replace=False
    )
    with _loguru_into(caplog):
        assert await replica.keeper.resync() == Repairs()
    assert "drifted" not in caplog.text
    assert replica.keeper.checks == 1
    await replica.keeper.close()


async def test_a_user_reenrolled_through_the_replica_during_a_resync_is_left_as_enrolled() -> None:
    # A suspect is read again before it is repaired; if this replica re-enrols the user right
    # after that read, the re-sync must not put back the older enrolment it read.
    store, clock = InMemoryStore(), ManualClock()
    replica = Replica(store, None)
    user = UserId.new()
    await replica.users.save_sample(user, None, _sample(0.1), now=clock.now(), replace=False)
    assert await replica.keeper.start() == 1
    clock.advance(1)
    outside = InMemoryUserRepository(store)
    await outside.save_sample(user, None, _sample(0.4), now=clock.now(), replace=True)  # drift

    class Interleaved(InMemoryUserRepository):
        async def get(self, user_id: UserId) -> Enrollment | None:
            read = await super().get(user_id)
            clock.advance(1)
            await replica.users.save_sample(user, None, _sample(0.7), now=clock.now(), replace=True)
            return read

    keeper = IndexKeeper(Interleaved(store), replica.index, None)
    assert await keeper.resync() == Repairs()  # the suspect was touched meanwhile: left alone
    hit = (await replica.index.search(_sample(0.7).embedding, limit=1))[0]
    assert hit.user_id == user
    assert hit.cosine == pytest.approx(1.0)


async def test_a_resync_that_fails_is_tried_again_at_the_next_period() -> None:
    store, clock = InMemoryStore(), ManualClock()

    class Flaky(InMemoryUserRepository):
        fail = False

        async def list(self, *, limit: int, cursor: str | None = None):  # type: ignore[no-untyped-def]
            if self.fail:
                from voiceauth_core import StorageUnavailableError

                raise StorageUnavailableError("the database is unavailable")
            return await super().list(limit=limit, cursor=cursor)

    users = Flaky(store)
    index = GuardedIndex(InMemoryVoiceprintIndex(MODEL))
    keeper = IndexKeeper(users, index, None, resync_s=0.02)
    assert await keeper.start() == 0
    users.fail = True
    missed = UserId.new()
    await InMemoryUserRepository(store).save_sample(
        missed, None, _sample(0.1), now=clock.now(), replace=False
    )
    await asyncio.sleep(0.1)
    assert await index.members() == []
    users.fail = False
    for _ in range(200):
        if await index.members():
            break
        await asyncio.sleep(0.01)
    assert await index.members() == [missed.value]
    await keeper.close()


async def test_a_zero_period_turns_the_periodic_resync_off() -> None:
    store, clock = InMemoryStore(), ManualClock()
    replica = Replica(store, None, resync_s=0.0)
    assert await replica.keeper.start() == 0
    await InMemoryUserRepository(store).save_sample(
        UserId.new(), None, _sample(0.1), now=clock.now(), replace=False
    )
    await asyncio.sleep(0.1)
    assert replica.keeper.checks == 0
    assert await replica.members() == set()
    await replica.keeper.close()


async def test_readiness_reports_the_index_its_events_and_pgvector(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        body = (await client.get("/api/v1/health")).json()
    index = body["components"]["index"]
    assert index == {
        "status": "ok",
        "synced": "yes",
        "voiceprints": "0",
        "events": "in-process",  # the fake app runs on the embedded SQLite database
        "pgvector": "not postgres",
    }


def test_the_pgvector_decision_from_a_result_set() -> None:
    assert VectorExtension.of({"installed": False, "available": True}) == "available"
    assert VectorExtension.of({"installed": True, "available": True}) == "installed"
    assert VectorExtension.of({"installed": False, "available": False}) == "not available"
    note = vector_search_note(str(VectorExtension.AVAILABLE))
    assert note is not None
    assert note.startswith("pgvector available in this database; not used")
    assert VECTOR_SEARCH_REASON in note
    assert "sealed" in VECTOR_SEARCH_REASON
    assert vector_search_note("not postgres") is None


class _loguru_into:  # noqa: N801 - used as a context manager, read like one
    """Route loguru's records into pytest's caplog for the block."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog
        self._id: int | None = None

    def __enter__(self) -> None:
        from loguru import logger

        self._id = logger.add(self._caplog.handler, format="{message}", level="INFO")

    def __exit__(self, *_: object) -> None:
        from loguru import logger

        assert self._id is not None
        logger.remove(self._id)
