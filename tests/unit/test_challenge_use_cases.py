"""Issuing and answering a liveness challenge through the use cases, on the core's fakes."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from voiceauth_core import (
    Attempt,
    Audio,
    CapturePlan,
    ChallengeError,
    ChallengeResult,
    CosinePolicy,
    Decision,
    Enroll,
    InvalidInputError,
    PhoneNumber,
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


async def test_the_attempt_logs_how_the_answer_was_judged(world: World) -> None:
    user = await _enrolled(world)
    challenge = await world.issue.execute(user_id=user)
    await _verify(world, user, challenge, _answer(challenge.digits, lead_s=3.5))
    plain = await world.verify.execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=5.0, seed=3)), user_id=user
    )
    late, unchallenged = (await world.attempts.history(user, limit=5)).items[::-1]
    assert late.challenge is ChallengeResult.LATE_ANSWER
    assert late.challenge_delay_s == pytest.approx(3.5, abs=0.05)
    assert unchallenged.id == plain.attempt.id
    assert (unchallenged.challenge, unchallenged.challenge_delay_s) == (None, None)


async def test_an_extra_delay_widens_the_answer_bound_for_that_answer_only(world: World) -> None:
    user = await _enrolled(world)
    challenge = await world.issue.execute(user_id=user)
    check = await world.redeem.execute(challenge_id=challenge.id, user_id=user, extra_delay_s=1.0)
    result = await world.verify.execute(
        source=InMemoryAudioSource(_answer(challenge.digits, lead_s=3.5)),
        user_id=user,
        challenge=check,
    )
    assert result.challenge is not None
    assert result.challenge.passed  # 3.5 s: late for the 3 s bound, in time for 3 s + 1 s
    assert result.decision is Decision.ACCEPT
    with pytest.raises(InvalidInputError):
        await world.redeem.execute(challenge_id=challenge.id, user_id=user, extra_delay_s=-1.0)


async def test_a_challenge_is_issued_to_the_user_a_phone_number_names(world: World) -> None:
    user = UserId.new()
    phone = PhoneNumber.parse("+14155550123")
    source = InMemoryAudioSource(ALICE.voice(seconds=5.0, seed=1))
    await world.enroll.execute(source=source, user_id=user, phone=phone)
    challenge = await world.issue.execute(phone=phone, call_id="call-1")
    assert (challenge.user_id, challenge.call_id) == (user, "call-1")
    with pytest.raises(UserNotFoundError):
        await world.issue.execute(phone=PhoneNumber.parse("+14155550199"))
    with pytest.raises(InvalidInputError):
        await world.issue.execute()


def test_an_answer_delay_goes_with_a_result_and_is_a_time() -> None:
    outcome = ChallengeOutcome(
        passed=False, heard="1", distance=5, start_s=0.2, failure=ChallengeFailure.WRONG_DIGITS
    )
    assert ChallengeResult.of(outcome) is ChallengeResult.WRONG_DIGITS
    assert ChallengeResult.of(replace(outcome, passed=True, failure=None)) is ChallengeResult.PASSED
    base = Attempt(
        id=uuid.uuid4(),
        user_id=UserId.new(),
        decision=Decision.REJECT,
        score=None,
        raw_score=None,
        speech_seconds=0.0,
        channel="vapi",
        correlation_id="",
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    replace(base, challenge=ChallengeResult.NO_DIGITS)  # no digit heard: no delay
    for challenge, delay in (
        (None, 1.0),
        (ChallengeResult.PASSED, -0.5),
        (ChallengeResult.PASSED, math.nan),
    ):
        with pytest.raises(InvalidInputError):
            replace(base, challenge=challenge, challenge_delay_s=delay)
