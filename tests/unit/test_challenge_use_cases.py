"""Issuing and answering a liveness challenge through the use cases, on the core's fakes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from voiceauth_core import (
    Audio,
    CapturePlan,
    ChallengeError,
    CosinePolicy,
    Decision,
    Enroll,
    QualityGate,
    UserId,
    UserNotFoundError,
    Verify,
)
from voiceauth_core.challenge import Challenge, ChallengeFailure, ChallengeOutcome, ChallengeRule
from voiceauth_core.testing import (
    ALICE,
    BOB,
    EnergySpeechDetector,
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryChallengeStore,
    InMemoryStore,
    InMemoryUserRepository,
    ManualClock,
    SpectralEmbeddingModel,
    SyntheticSpeaker,
    ToneDigitRecognizer,
    tone_digits,
)
from voiceauth_core.use_cases import IssueChallenge, RedeemChallenge

pytestmark = pytest.mark.unit

RULE = ChallengeRule(max_answer_delay_s=3.0)


@dataclass
class World:
    clock: ManualClock
    users: InMemoryUserRepository
    attempts: InMemoryAttemptLog
    issue: IssueChallenge
    redeem: RedeemChallenge
    verify: Verify
    enroll: Enroll


@pytest.fixture
def world() -> World:
    store, clock = InMemoryStore(), ManualClock()
    users, attempts = InMemoryUserRepository(store), InMemoryAttemptLog(store)
    challenges = InMemoryChallengeStore(store)
    model, detector = SpectralEmbeddingModel(), EnergySpeechDetector()
    gate = QualityGate(min_enroll_speech_s=2.0)
    return World(
        clock=clock,
        users=users,
        attempts=attempts,
        issue=IssueChallenge(users=users, challenges=challenges, clock=clock, rule=RULE),
        redeem=RedeemChallenge(
            challenges=challenges, recognizer=ToneDigitRecognizer(), clock=clock, rule=RULE
        ),
        verify=Verify(
            model=model,
            detector=detector,
            users=users,
            attempts=attempts,
            policy=CosinePolicy(threshold=0.5),
            clock=clock,
            gate=gate,
            plan=CapturePlan(),
        ),
        enroll=Enroll(model=model, detector=detector, users=users, clock=clock, gate=gate),
    )


async def _enrolled(world: World) -> UserId:
    user = UserId.new()
    source = InMemoryAudioSource(ALICE.voice(seconds=5.0, seed=1))
    await world.enroll.execute(source=source, user_id=user, phone=None)
    return user


def _answer(digits: str, *, lead_s: float = 0.5, who: SyntheticSpeaker = ALICE) -> Audio:
    """The digits said (as tones), then the caller's voice: one recording."""
    return Audio.concatenate(
        [tone_digits(digits, lead_s=lead_s, amplitude=0.05), who.voice(seconds=5.0, seed=3)]
    )


async def _verify(
    world: World, user: UserId, challenge: Challenge, audio: Audio, *, live: bool = False
) -> tuple[Decision, ChallengeOutcome]:
    check = await world.redeem.execute(challenge_id=challenge.id, user_id=user)
    result = await world.verify.execute(
        source=InMemoryAudioSource(audio, live=live), user_id=user, challenge=check
    )
    assert result.challenge is not None
    return result.decision, result.challenge


async def test_the_right_digits_in_the_right_voice_are_accepted(world: World) -> None:
    user = await _enrolled(world)
    challenge = await world.issue.execute(user_id=user)
    decision, outcome = await _verify(world, user, challenge, _answer(challenge.digits))
    assert decision is Decision.ACCEPT
    assert outcome.passed


async def test_wrong_digits_turn_an_accept_into_a_reject_and_are_logged(world: World) -> None:
    user = await _enrolled(world)
    challenge = await world.issue.execute(user_id=user)
    wrong = "".join(str((int(d) + 5) % 10) for d in challenge.digits)
    decision, outcome = await _verify(world, user, challenge, _answer(wrong))
    assert decision is Decision.REJECT
    assert outcome.failure is ChallengeFailure.WRONG_DIGITS
    assert outcome.heard == wrong
    history = await world.attempts.history(user, limit=5)
    assert [a.decision for a in history.items] == [Decision.REJECT]
    assert history.items[0].score is not None  # the voice was scored all the same


async def test_a_late_answer_is_rejected(world: World) -> None:
    user = await _enrolled(world)
    challenge = await world.issue.execute(user_id=user)
    decision, outcome = await _verify(world, user, challenge, _answer(challenge.digits, lead_s=3.5))
    assert decision is Decision.REJECT
    assert outcome.failure is ChallengeFailure.LATE_ANSWER


async def test_the_right_digits_in_another_voice_stay_rejected(world: World) -> None:
    user = await _enrolled(world)
    challenge = await world.issue.execute(user_id=user)
    decision, outcome = await _verify(world, user, challenge, _answer(challenge.digits, who=BOB))
    assert decision is Decision.REJECT
    assert outcome.passed


async def test_a_live_answer_is_heard_whole_before_it_is_judged(world: World) -> None:
    user = await _enrolled(world)
    challenge = await world.issue.execute(user_id=user)
    # The voice first, the digits after it: an early decision on the voice would cut them off.
    audio = Audio.concatenate(
        [ALICE.voice(seconds=2.5, seed=4), tone_digits(challenge.digits, lead_s=0.2)]
    )
    decision, outcome = await _verify(world, user, challenge, audio, live=True)
    assert outcome.heard == challenge.digits
    assert outcome.passed
    assert decision is Decision.ACCEPT


async def test_a_challenge_is_used_once_whatever_the_answer(world: World) -> None:
    user = await _enrolled(world)
    challenge = await world.issue.execute(user_id=user)
    await _verify(world, user, challenge, _answer("000000"))
    with pytest.raises(ChallengeError) as used:
        await world.redeem.execute(challenge_id=challenge.id, user_id=user)
    assert used.value.reason == "used"


async def test_an_expired_challenge_cannot_be_answered(world: World) -> None:
    user = await _enrolled(world)
    challenge = await world.issue.execute(user_id=user)
    world.clock.advance(RULE.ttl_s)
    with pytest.raises(ChallengeError) as expired:
        await world.redeem.execute(challenge_id=challenge.id, user_id=user)
    assert expired.value.reason == "expired"


async def test_only_enrolled_users_are_challenged(world: World) -> None:
    with pytest.raises(UserNotFoundError):
        await world.issue.execute(user_id=UserId.new())


async def test_without_a_challenge_nothing_changes(world: World) -> None:
    user = await _enrolled(world)
    result = await world.verify.execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=5.0, seed=3)), user_id=user
    )
    assert result.decision is Decision.ACCEPT
    assert result.challenge is None
