"""``POST /api/v1/identify`` over the core's fakes: bodies, the match, erasure, errors; the VAPI
tool's sentence; two replicas' indexes kept in step by voiceprint events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from tests.unit.web.app_harness import fake_app
from voiceauth_core import (
    Candidate,
    Embedding,
    Enrollment,
    EnrollmentSample,
    Identification,
    IdentificationOutcome,
    Page,
    Score,
    StorageUnavailableError,
    UserId,
)
from voiceauth_core.testing import (
    ALICE,
    BOB,
    InMemoryStore,
    InMemoryUserRepository,
    InMemoryVoiceprintEvents,
    InMemoryVoiceprintIndex,
    ManualClock,
    SyntheticSpeaker,
    wav_bytes,
)
from voiceauth_core.watchlist import WatchlistMatch
from voiceauth_web.index_keeper import GuardedIndex, IndexedUsers, IndexKeeper
from voiceauth_web.vapi_identify import sentence

pytestmark = pytest.mark.unit

CAROL = SyntheticSpeaker(f0=165.0, formants=(300.0, 2600.0, 3400.0))


def upload(who: SyntheticSpeaker, seed: int) -> dict[str, object]:
    return {"file": ("a.wav", wav_bytes(who.voice(seconds=5.0, seed=seed)), "audio/wav")}


async def test_identify_finds_the_enrolled_caller_and_nobody_for_a_stranger(
    tmp_path: Path,
) -> None:
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        for user, who in ((alice, ALICE), (bob, BOB)):
            enrolled = await client.post(f"/api/v1/users/{user}/enrollments", files=upload(who, 1))
            assert enrolled.status_code == 200, enrolled.text

        found = await client.post("/api/v1/identify", files=upload(ALICE, 7))
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["match"] == alice
        assert body["outcome"] == "match"
        assert [c["userId"] for c in body["candidates"]] == [alice, bob]
        assert set(body["candidates"][0]) == {"userId", "score", "rawScore", "confidence"}
        assert body["gallerySize"] == 2
        assert body["confidence"] == body["candidates"][0]["confidence"]
        assert body["falseMatchProbability"] == pytest.approx(1 - body["confidence"], abs=1e-3)
        assert body["watchlist"] is None

        one = await client.post("/api/v1/identify", files=upload(ALICE, 7), data={"limit": "1"})
        assert [c["userId"] for c in one.json()["candidates"]] == [alice]

        stranger = (await client.post("/api/v1/identify", files=upload(CAROL, 3))).json()
        assert stranger["match"] is None
        assert stranger["outcome"] == "no_match"

        erased = await client.delete(f"/api/v1/users/{alice}")
        assert erased.status_code in (200, 204)
        after = (await client.post("/api/v1/identify", files=upload(ALICE, 7))).json()
        assert alice not in [c["userId"] for c in after["candidates"]]
        assert after["gallerySize"] == 1


async def test_identify_refuses_bad_bodies(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        both = await client.post(
            "/api/v1/identify",
            json={"audioUrl": "http://127.0.0.1:9/a.wav", "listenUrl": "ws://127.0.0.1:9/l"},
        )
        assert both.status_code == 400
        assert both.json()["error"] == "ValidationError"
        neither = await client.post("/api/v1/identify", json={})
        assert neither.status_code == 400
        unknown = await client.post("/api/v1/identify", json={"audioUrl": "x", "userId": "y"})
        assert unknown.status_code == 400
        limit = await client.post(
            "/api/v1/identify", json={"audioUrl": "http://127.0.0.1:9/a.wav", "limit": 0}
        )
        assert limit.status_code == 400
        no_file = await client.post(
            "/api/v1/identify", files={"other": ("a.wav", b"RIFF", "audio/wav")}
        )
        assert no_file.status_code == 400
        text = await client.post(
            "/api/v1/identify", content=b"hello", headers={"content-type": "text/plain"}
        )
        assert text.status_code == 415


async def test_identify_needs_an_api_key_when_keys_are_set(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path, api_keys=("k" * 32,))) as client:
        refused = await client.post("/api/v1/identify", files=upload(ALICE, 7))
        assert refused.status_code == 401
        allowed = await client.post(
            "/api/v1/identify", files=upload(ALICE, 7), headers={"X-API-Key": "k" * 32}
        )
        assert allowed.status_code == 200


def _identification(match: bool, *, watchlist: WatchlistMatch | None = None) -> Identification:
    user = UserId.new()
    candidate = Candidate(user_id=user, score=Score(calibrated=0.99, raw=0.7), confidence=0.95)
    return Identification(
        outcome=IdentificationOutcome.MATCH if match else IdentificationOutcome.NO_MATCH,
        candidates=(candidate,),
        match=user if match else None,
        gallery_size=40,
        speech_seconds=5.0,
        audio_seconds=6.0,
        watchlist=watchlist,
    )


def test_the_vapi_sentence_names_the_match_its_certainty_and_a_watchlist_hit() -> None:
    matched = _identification(True)
    told = sentence(matched)
    assert str(matched.match) in told
    assert "95%" in told
    assert "40 enrolled" in told
    assert "none of the 40" in sentence(_identification(False))
    flagged = WatchlistMatch(entry_id=uuid.uuid4(), label="executor scam", score=0.97)
    assert "executor scam" in sentence(_identification(False, watchlist=flagged))


async def _until(members: Callable[[], Awaitable[list[uuid.UUID]]], size: int) -> None:
    """Wait (up to 1 s) for an index to hold ``size`` voiceprints: events are asynchronous."""
    for _ in range(100):
        if len(await members()) == size:
            return
        await asyncio.sleep(0.01)


async def test_two_replicas_indexes_follow_each_others_enrolments_and_erasures() -> None:
    store, events = InMemoryStore(), InMemoryVoiceprintEvents()
    model = "test/model-a"
    replicas = []
    for _ in range(2):
        index = GuardedIndex(InMemoryVoiceprintIndex(model))
        users = IndexedUsers(InMemoryUserRepository(store), index, events)
        keeper = IndexKeeper(InMemoryUserRepository(store), index, events)
        replicas.append((index, users, keeper))
    early = UserId.new()
    sample = EnrollmentSample(
        embedding=Embedding.from_vector([1.0, 0.0, 0.5], model), speech_seconds=4.0
    )
    await replicas[0][1].save_sample(early, None, sample, now=ManualClock().now(), replace=False)
    for _, _, keeper in replicas:
        assert await keeper.start() == 1
    user = UserId.new()
    await replicas[0][1].save_sample(user, None, sample, now=ManualClock().now(), replace=False)
    await _until(replicas[1][0].members, 2)
    assert set(await replicas[1][0].members()) == {early.value, user.value}
    assert await replicas[1][1].delete(early)
    await _until(replicas[0][0].members, 1)
    assert await replicas[0][0].members() == [user.value]
    for _, _, keeper in replicas:
        await keeper.close()


async def test_an_index_not_yet_filled_refuses_searches_until_the_store_answers() -> None:
    class Unreachable(InMemoryUserRepository):
        down = True

        async def list(self, *, limit: int, cursor: str | None = None) -> Page[Enrollment]:
            if self.down:
                raise StorageUnavailableError("the database is unavailable")
            return await super().list(limit=limit, cursor=cursor)

    users = Unreachable()
    index = GuardedIndex(InMemoryVoiceprintIndex("test/model-a"))
    keeper = IndexKeeper(users, index, None, retry_s=0.01)
    assert await keeper.start() is None
    probe = Embedding.from_vector([1.0, 0.0, 0.0], "test/model-a")
    with pytest.raises(StorageUnavailableError):
        await index.search(probe, limit=1)
    users.down = False
    for _ in range(100):
        if index.synced:
            break
        await asyncio.sleep(0.01)
    assert await index.search(probe, limit=1) == []
    await keeper.close()
