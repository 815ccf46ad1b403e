"""The synthetic-speech check in Enroll and Verify: step-up, the enrolment's baseline, refusal."""

from __future__ import annotations

import pytest

from voiceauth_core import (
    AudioProcessingError,
    CapturePlan,
    CosinePolicy,
    Decision,
    Enroll,
    QualityGate,
    SpoofRisk,
    UserId,
    Verify,
)
from voiceauth_core.audio import Audio
from voiceauth_core.spoof_gate import SpoofGate
from voiceauth_core.spoofing import SpoofAssessment, SpoofCalibration, SpoofSegment
from voiceauth_core.testing import (
    ALICE,
    BOB,
    EnergySpeechDetector,
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryStore,
    InMemoryUserRepository,
    LowPassLine,
    ManualClock,
    SpectralEmbeddingModel,
)

pytestmark = pytest.mark.unit

#: A calibration on which raw 0 is probability 0.5 and each unit one more unit of log-odds.
CALIBRATION = SpoofCalibration(scale=1.0, offset=0.0, detector_id="scripted")
GATE = SpoofGate(
    step_up_probability=0.9,
    elevated_probability=0.5,
    baseline_margin=3.0,
    refuse_enroll_probability=0.999,
)


class ScriptedSpoofDetector:
    """A countermeasure whose raw score the test sets; it remembers what it heard."""

    def __init__(self, raw: float) -> None:
        self.raw = raw
        self.heard: list[Audio] = []

    @property
    def detector_id(self) -> str:
        return CALIBRATION.detector_id

    async def assess(self, speech: Audio) -> SpoofAssessment:
        self.heard.append(speech)
        segment = SpoofSegment(start_s=0.0, end_s=speech.duration, score=self.raw)
        return SpoofAssessment.calibrated(
            segments=(segment,), seconds=speech.duration, calibration=CALIBRATION
        )


class World:
    def __init__(self, spoof: ScriptedSpoofDetector) -> None:
        store = InMemoryStore()
        self.users, self.attempts = InMemoryUserRepository(store), InMemoryAttemptLog(store)
        model, detector, clock = SpectralEmbeddingModel(), EnergySpeechDetector(), ManualClock()
        gate = QualityGate(min_enroll_speech_s=3.0, min_verify_speech_s=1.0)
        self.spoof = spoof
        self.enroll = Enroll(
            model=model,
            detector=detector,
            users=self.users,
            clock=clock,
            gate=gate,
            telephone=LowPassLine(),
            spoof=spoof,
            spoof_gate=GATE,
        )
        self.verify = Verify(
            model=model,
            detector=detector,
            users=self.users,
            attempts=self.attempts,
            policy=CosinePolicy(threshold=0.82, margin=0.1),
            clock=clock,
            gate=gate,
            plan=CapturePlan(max_audio_s=20.0, check_every_s=1.0, target_speech_s=6.0),
            spoof=spoof,
            spoof_gate=GATE,
        )

    async def enrol(self, user: UserId) -> None:
        await self.enroll.execute(
            user_id=user, phone=None, source=InMemoryAudioSource(ALICE.voice(seconds=6.0, seed=1))
        )


async def test_a_matching_voice_that_sounds_synthetic_is_sent_to_another_factor() -> None:
    world, user = World(ScriptedSpoofDetector(raw=-6.0)), UserId.new()
    await world.enrol(user)
    world.spoof.raw = 5.0  # p = 0.993, and 11 above the enrolment's own -6
    result = await world.verify.execute(
        user_id=user, source=InMemoryAudioSource(ALICE.voice(seconds=8.0, seed=2))
    )
    assert result.decision is Decision.STEP_UP
    assert not result.attempt.success
    assert result.score is not None
    assert result.score.calibrated >= 0.82  # the voice matched
    assert result.attempt.spoof_risk is SpoofRisk.HIGH
    assert result.attempt.spoof_score == pytest.approx(0.993307, abs=1e-6)
    [logged] = (await world.attempts.history(user, limit=5)).items
    assert logged.decision is Decision.STEP_UP
    # Assessed once, on the speech the decision was made on.
    assert len(world.spoof.heard) == 1 + 2  # verification, and the enrolment's two hearings
    assert world.spoof.heard[-1].duration == pytest.approx(result.speech_seconds, abs=0.02)


async def test_a_voice_that_always_sounds_synthetic_is_compared_with_itself() -> None:
    # Some people score "synthetic" on every call: their enrolment measured it.
    world, user = World(ScriptedSpoofDetector(raw=4.0)), UserId.new()
    await world.enrol(user)
    enrollment = await world.users.get(user)
    assert enrollment is not None
    assert enrollment.spoof_baseline == pytest.approx(4.0)
    world.spoof.raw = 5.0  # p = 0.993, but only 1 above their baseline
    result = await world.verify.execute(
        user_id=user, source=InMemoryAudioSource(ALICE.voice(seconds=8.0, seed=2))
    )
    assert result.decision is Decision.ACCEPT
    assert result.attempt.spoof_risk is SpoofRisk.ELEVATED
    world.spoof.raw = 7.5  # 3.5 above it: a clone of this person still steps up
    again = await world.verify.execute(
        user_id=user, source=InMemoryAudioSource(ALICE.voice(seconds=8.0, seed=3))
    )
    assert again.decision is Decision.STEP_UP


async def test_a_live_sounding_match_is_accepted_with_low_risk() -> None:
    world, user = World(ScriptedSpoofDetector(raw=-6.0)), UserId.new()
    await world.enrol(user)
    result = await world.verify.execute(
        user_id=user, source=InMemoryAudioSource(ALICE.voice(seconds=8.0, seed=2))
    )
    assert result.decision is Decision.ACCEPT
    assert result.attempt.spoof_risk is SpoofRisk.LOW
    assert result.attempt.spoof_score == pytest.approx(0.002473, abs=1e-6)


async def test_a_rejected_voice_stays_rejected_and_its_risk_is_logged() -> None:
    world, user = World(ScriptedSpoofDetector(raw=-6.0)), UserId.new()
    await world.enrol(user)
    world.spoof.raw = 5.0
    result = await world.verify.execute(
        user_id=user, source=InMemoryAudioSource(BOB.voice(seconds=8.0, seed=2))
    )
    assert result.decision is Decision.REJECT
    assert result.attempt.spoof_risk is SpoofRisk.HIGH


async def test_too_little_speech_is_not_assessed() -> None:
    world, user = World(ScriptedSpoofDetector(raw=-6.0)), UserId.new()
    await world.enrol(user)
    heard_before = len(world.spoof.heard)
    result = await world.verify.execute(
        user_id=user, source=InMemoryAudioSource(ALICE.voice(seconds=0.6, seed=2))
    )
    assert result.decision is Decision.NOT_ENOUGH_SPEECH
    assert result.attempt.spoof_score is None
    assert result.attempt.spoof_risk is None
    assert len(world.spoof.heard) == heard_before


async def test_clearly_synthetic_enrolment_audio_is_refused_and_nothing_is_stored() -> None:
    world, user = World(ScriptedSpoofDetector(raw=8.0)), UserId.new()  # p = 0.99966
    with pytest.raises(AudioProcessingError) as refused:
        await world.enrol(user)
    assert refused.value.reason == "synthetic"
    assert await world.users.get(user) is None


async def test_the_baseline_is_measured_where_calls_are_heard() -> None:
    # The enrolment keeps the score of its speech through the telephone line.
    world, user = World(ScriptedSpoofDetector(raw=-2.0)), UserId.new()
    await world.enrol(user)
    recorded, line = world.spoof.heard
    assert recorded.duration == pytest.approx(line.duration)
    assert not (recorded.samples == line.samples).all()  # the second is the line's output
