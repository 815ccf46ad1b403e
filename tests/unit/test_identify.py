"""Identify over the in-memory fakes: the enrolled caller is found, a stranger is not; the open-set
rule's gallery-size correction."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceauth_core import (
    Audio,
    CaptureError,
    CapturePlan,
    CosinePolicy,
    Enroll,
    IdentificationOutcome,
    Identify,
    InvalidInputError,
    OpenSetRule,
    QualityGate,
    UserId,
)
from voiceauth_core.testing import (
    ALICE,
    BOB,
    EnergySpeechDetector,
    InMemoryAudioSource,
    InMemoryUserRepository,
    InMemoryVoiceprintIndex,
    InMemoryWatchlist,
    ManualClock,
    SpectralEmbeddingModel,
    SyntheticSpeaker,
)
from voiceauth_core.use_cases import sync_index
from voiceauth_core.watchlist import WatchlistEntry, WatchlistScreen

pytestmark = pytest.mark.unit

CAROL = SyntheticSpeaker(f0=165.0, formants=(300.0, 2600.0, 3400.0))
GATE = QualityGate(min_enroll_speech_s=3.0, strong_enroll_speech_s=8.0, min_verify_speech_s=1.0)
PLAN = CapturePlan(max_audio_s=20.0, check_every_s=1.0, target_speech_s=6.0)


@dataclass
class World:
    users: InMemoryUserRepository
    index: InMemoryVoiceprintIndex
    enroll: Enroll
    identify: Identify

    async def enrol(self, who: SyntheticSpeaker, seed: int) -> UserId:
        user = UserId.new()
        await self.enroll.execute(
            user_id=user, phone=None, source=InMemoryAudioSource(who.voice(seconds=6.0, seed=seed))
        )
        await sync_index(self.users, self.index)
        return user


@pytest.fixture
def world() -> World:
    users = InMemoryUserRepository()
    model, detector = SpectralEmbeddingModel(), EnergySpeechDetector()
    index = InMemoryVoiceprintIndex(model.model_id)
    enroll = Enroll(model=model, detector=detector, users=users, clock=ManualClock(), gate=GATE)
    identify = Identify(
        model=model,
        detector=detector,
        users=users,
        index=index,
        policy=CosinePolicy(threshold=0.82),
        rule=OpenSetRule(threshold=0.82),
        gate=GATE,
        plan=PLAN,
    )
    return World(users, index, enroll, identify)


async def test_the_enrolled_caller_is_the_match_and_comes_first(world: World) -> None:
    alice, bob = await world.enrol(ALICE, 1), await world.enrol(BOB, 2)
    result = await world.identify.execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=5, seed=9))
    )
    assert result.outcome is IdentificationOutcome.MATCH
    assert result.match == alice
    assert [c.user_id for c in result.candidates] == [alice, bob]
    assert result.gallery_size == 2
    assert result.confidence == result.candidates[0].confidence >= 0.99
    assert result.false_match_probability == pytest.approx(1 - result.confidence)
    assert result.candidates[0].score.calibrated > result.candidates[1].score.calibrated
    assert result.candidates[0].confidence > result.candidates[1].confidence
    assert result.speech_seconds >= 1.0
    assert result.watchlist is None


async def test_a_stranger_matches_nobody(world: World) -> None:
    await world.enrol(ALICE, 1)
    await world.enrol(BOB, 2)
    result = await world.identify.execute(
        source=InMemoryAudioSource(CAROL.voice(seconds=5, seed=3))
    )
    assert result.outcome is IdentificationOutcome.NO_MATCH
    assert result.match is None
    assert len(result.candidates) == 2
    assert result.candidates[0].score.calibrated < 0.82


async def test_the_limit_cuts_the_candidates_and_must_be_positive(world: World) -> None:
    alice = await world.enrol(ALICE, 1)
    await world.enrol(BOB, 2)
    source = InMemoryAudioSource(ALICE.voice(seconds=5, seed=9))
    result = await world.identify.execute(source=source, limit=1)
    assert [c.user_id for c in result.candidates] == [alice]
    with pytest.raises(InvalidInputError):
        await world.identify.execute(source=source, limit=0)


async def test_an_empty_gallery_matches_nobody(world: World) -> None:
    result = await world.identify.execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=5, seed=9))
    )
    assert result.outcome is IdentificationOutcome.NO_MATCH
    assert result.candidates == ()
    assert result.gallery_size == 0
    assert result.false_match_probability == 1.0


async def test_too_little_speech_is_not_enough_speech(world: World) -> None:
    await world.enrol(ALICE, 1)
    short = Audio.concatenate([Audio.silence(2.0), ALICE.voice(seconds=0.5, seed=4)])
    result = await world.identify.execute(source=InMemoryAudioSource(short))
    assert result.outcome is IdentificationOutcome.NOT_ENOUGH_SPEECH
    assert result.candidates == ()
    assert result.gallery_size == 1


async def test_a_silent_call_is_a_capture_error(world: World) -> None:
    await world.enrol(ALICE, 1)
    with pytest.raises(CaptureError) as caught:
        await world.identify.execute(source=InMemoryAudioSource(Audio.silence(3.0), live=True))
    assert caught.value.reason == "no_speech"


async def test_a_live_call_is_heard_until_the_target_speech(world: World) -> None:
    alice = await world.enrol(ALICE, 1)
    call = InMemoryAudioSource(ALICE.voice(seconds=15, seed=5), live=True, chunk_s=0.5)
    result = await world.identify.execute(source=call)
    assert result.match == alice
    assert result.audio_seconds < 15.0
    assert call.closed


async def test_a_user_erased_after_indexing_is_not_a_candidate(world: World) -> None:
    alice = await world.enrol(ALICE, 1)
    bob = await world.enrol(BOB, 2)
    await world.users.delete(alice)  # the index has not heard of it yet
    result = await world.identify.execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=5, seed=9))
    )
    assert [c.user_id for c in result.candidates] == [bob]


def test_one_comparison_false_match_is_the_impostor_tail() -> None:
    rule = OpenSetRule(impostor_mean=-10.0, impostor_std=2.0)
    at_mean = 1 / (1 + math.exp(10.0))  # a calibrated score whose log-odds are the mean
    assert rule.comparison_false_match(at_mean) == pytest.approx(0.5)
    two_sigma = 1 / (1 + math.exp(6.0))
    assert rule.comparison_false_match(two_sigma) == pytest.approx(0.02275, abs=1e-4)
    assert rule.false_match(two_sigma, gallery_size=1) == pytest.approx(0.02275, abs=1e-4)
    assert rule.false_match(two_sigma, gallery_size=2) == pytest.approx(
        1 - (1 - 0.02275) ** 2, abs=1e-4
    )


@given(
    score=st.floats(min_value=0.0, max_value=1.0),
    small=st.integers(min_value=1, max_value=1000),
    extra=st.integers(min_value=0, max_value=10**7),
)
def test_the_false_match_chance_grows_with_the_gallery_and_falls_with_the_score(
    score: float, small: int, extra: int
) -> None:
    rule = OpenSetRule()
    here = rule.false_match(score, gallery_size=small)
    assert 0.0 <= here <= 1.0
    assert rule.false_match(score, gallery_size=small + extra) >= here
    assert rule.false_match(min(1.0, score + 0.01), gallery_size=small) <= here


def test_a_match_needs_the_verification_threshold_and_a_small_false_match_chance() -> None:
    rule = OpenSetRule(threshold=0.82, max_false_match=0.01, impostor_mean=-12.0, impostor_std=4.0)
    assert rule.matches(0.99, gallery_size=10)
    assert not rule.matches(0.8, gallery_size=1)  # a verification would reject it
    assert not rule.matches(0.99, gallery_size=10**9)  # among a billion voices, chance
    assert rule.false_match(0.99, gallery_size=10**9) > 0.01


def test_the_rule_refuses_nonsense() -> None:
    with pytest.raises(InvalidInputError):
        OpenSetRule(threshold=1.5)
    with pytest.raises(InvalidInputError):
        OpenSetRule(max_false_match=1.0)
    with pytest.raises(InvalidInputError):
        OpenSetRule(impostor_std=0.0)
    with pytest.raises(InvalidInputError):
        OpenSetRule().false_match(0.5, gallery_size=0)


async def test_a_voice_on_the_fraud_watchlist_is_reported_beside_the_candidates(
    world: World,
) -> None:
    alice = await world.enrol(ALICE, 1)
    model, detector = SpectralEmbeddingModel(), EnergySpeechDetector()
    watchlist = InMemoryWatchlist()
    fraud = await model.embed(await detector.speech(BOB.voice(seconds=6.0, seed=11)))
    entry = WatchlistEntry(
        id=uuid.uuid4(),
        label="executor scam",
        note="",
        embedding=fraud,
        created_at=ManualClock().now(),
        source="upload",
    )
    await watchlist.add(entry)
    policy = CosinePolicy(threshold=0.82)
    screened = Identify(
        model=model,
        detector=detector,
        users=world.users,
        index=world.index,
        policy=policy,
        rule=OpenSetRule(threshold=0.82),
        gate=GATE,
        plan=PLAN,
        screen=WatchlistScreen(watchlist=watchlist, policy=policy, threshold=0.82),
    )
    flagged = await screened.execute(source=InMemoryAudioSource(BOB.voice(seconds=5, seed=12)))
    assert flagged.watchlist is not None
    assert flagged.watchlist.entry_id == entry.id
    assert flagged.match is None
    clean = await screened.execute(source=InMemoryAudioSource(ALICE.voice(seconds=5, seed=9)))
    assert clean.match == alice
    assert clean.watchlist is None
