"""Domain values: ids, phone numbers, audio, embeddings, enrolments, cursors, the quality gate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pytest

from voiceauth_core import (
    Attempt,
    AttemptCursor,
    Audio,
    AudioProcessingError,
    Decision,
    Embedding,
    Enrollment,
    EnrollmentSample,
    InvalidInputError,
    ModelMismatchError,
    PhoneNumber,
    QualityGate,
    SpoofRisk,
    UserCursor,
    UserId,
)
from voiceauth_core.enrollment import apply_sample
from voiceauth_core.testing import synthetic_voice

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+14155550123", "+14155550123"),
        ("+1 (415) 555-0123", "+14155550123"),
        (" +44 20 7183 8750 ", "+442071838750"),
    ],
)
def test_phone_numbers_are_normalised(text: str, expected: str) -> None:
    assert PhoneNumber.parse(text).e164 == expected


@pytest.mark.parametrize(
    "text", ["", "14155550123", "+0123456789", "+1234", "+1" + "2" * 15, "+1abc5550123"]
)
def test_bad_phone_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        PhoneNumber.parse(text)


def test_phone_is_masked_for_logs() -> None:
    assert PhoneNumber.parse("+14155550123").masked() == "+*********23"


def test_user_id_parses_uuid_text_only() -> None:
    value = uuid.uuid4()
    assert UserId.parse(str(value)).value == value
    assert UserId.parse(value).value == value
    with pytest.raises(InvalidInputError):
        UserId.parse("not-a-uuid")


def test_audio_is_immutable_and_measured() -> None:
    samples = np.zeros(16000, np.float32)
    audio = Audio(samples=samples, sample_rate=16000)
    samples[0] = 1.0  # the caller's buffer changing later must not change the audio
    assert audio.samples[0] == 0.0
    assert audio.duration == 1.0
    with pytest.raises(ValueError, match="read-only"):
        audio.samples[0] = 1.0


@pytest.mark.parametrize(
    "bad",
    [np.zeros((2, 10), np.float32), np.array([np.nan], np.float32), np.array([np.inf], np.float32)],
)
def test_audio_refuses_bad_samples(bad: np.ndarray) -> None:
    with pytest.raises(AudioProcessingError):
        Audio(samples=bad, sample_rate=16000)


def test_audio_slices_and_joins() -> None:
    voice = synthetic_voice(seconds=2.0)
    halves = [voice.slice(0, 1.0), voice.slice(1.0)]
    assert [h.duration for h in halves] == [1.0, 1.0]
    assert np.array_equal(Audio.concatenate(halves).samples, voice.samples)
    with pytest.raises(AudioProcessingError):
        Audio.concatenate([voice, Audio.silence(1.0, sample_rate=8000)])


def test_embeddings_of_different_models_never_meet() -> None:
    a = Embedding.from_vector([1.0, 0.0], "model-a")
    b = Embedding.from_vector([1.0, 0.0], "model-b")
    with pytest.raises(ModelMismatchError):
        a.cosine(b)
    with pytest.raises(ModelMismatchError):
        Embedding.centroid([a, b])


@pytest.mark.parametrize("vector", [[0.0, 0.0], [], [np.nan, 1.0]])
def test_degenerate_vectors_are_refused(vector: list[float]) -> None:
    with pytest.raises(InvalidInputError):
        Embedding.from_vector(vector, "m")


def test_enrollment_adds_samples_and_refuses_other_models() -> None:
    user = UserId.new()
    first = EnrollmentSample(embedding=Embedding.from_vector([1.0, 0.0], "m"), speech_seconds=3)
    second = EnrollmentSample(embedding=Embedding.from_vector([0.0, 1.0], "m"), speech_seconds=4)
    enrollment = Enrollment.start(user_id=user, phone=None, sample=first, now=T0).add(
        second, now=T0
    )
    assert enrollment.sample_count == 2
    assert enrollment.speech_seconds == 7
    assert enrollment.centroid.vector == pytest.approx([2**-0.5, 2**-0.5])
    other = EnrollmentSample(embedding=Embedding.from_vector([1.0, 0.0], "x"), speech_seconds=3)
    with pytest.raises(ModelMismatchError):
        enrollment.add(other, now=T0)


def test_the_phone_band_voiceprint_exists_only_while_every_sample_brings_one() -> None:
    def sample(vector: list[float], twin: list[float] | None) -> EnrollmentSample:
        return EnrollmentSample(
            embedding=Embedding.from_vector(vector, "m"),
            speech_seconds=3,
            phone_band=None if twin is None else Embedding.from_vector(twin, "m"),
        )

    start = Enrollment.start(
        user_id=UserId.new(), phone=None, sample=sample([1.0, 0.0], [0.6, 0.8]), now=T0
    )
    assert start.phone_band_sum is not None
    assert start.phone_band_centroid is not None
    assert start.phone_band_centroid.vector == pytest.approx([0.6, 0.8])
    grown = start.add(sample([0.0, 1.0], [0.0, 1.0]), now=T0)
    assert grown.phone_band_sum == pytest.approx([0.6, 1.8])
    assert grown.centroid.vector == pytest.approx([2**-0.5, 2**-0.5])  # unchanged by the twin
    # A sample without one (made before it existed) leaves the enrolment without one ...
    without = grown.add(sample([1.0, 0.0], None), now=T0)
    assert without.phone_band_sum is None
    assert without.phone_band_centroid is None
    # ... and so does every later sample, until the enrolment is started afresh.
    assert without.add(sample([1.0, 0.0], [1.0, 0.0]), now=T0).phone_band_sum is None
    old = Enrollment.start(
        user_id=UserId.new(), phone=None, sample=sample([1.0, 0.0], None), now=T0
    )
    assert old.add(sample([0.0, 1.0], [0.0, 1.0]), now=T0).phone_band_sum is None


def test_a_phone_band_embedding_must_come_from_the_samples_model() -> None:
    with pytest.raises(ModelMismatchError):
        EnrollmentSample(
            embedding=Embedding.from_vector([1.0, 0.0], "m"),
            speech_seconds=3,
            phone_band=Embedding.from_vector([1.0, 0.0], "x"),
        )
    with pytest.raises(ModelMismatchError):
        EnrollmentSample(
            embedding=Embedding.from_vector([1.0, 0.0], "m"),
            speech_seconds=3,
            phone_band=Embedding.from_vector([1.0, 0.0, 0.0], "m"),
        )
    sample = EnrollmentSample(embedding=Embedding.from_vector([1.0, 0.0], "m"), speech_seconds=3)
    start = Enrollment.start(user_id=UserId.new(), phone=None, sample=sample, now=T0)
    with pytest.raises(InvalidInputError):
        Enrollment(
            user_id=start.user_id,
            phone=None,
            embedding_sum=start.embedding_sum,
            sample_count=1,
            speech_seconds=3,
            model_id="m",
            enrolled_at=T0,
            updated_at=T0,
            phone_band_sum=np.ones(3),
        )


def test_the_spoof_baseline_exists_only_while_every_sample_brings_a_score() -> None:
    def sample(vector: list[float], raw: float | None) -> EnrollmentSample:
        return EnrollmentSample(
            embedding=Embedding.from_vector(vector, "m"), speech_seconds=3, spoof_raw=raw
        )

    user = UserId.new()
    start = Enrollment.start(user_id=user, phone=None, sample=sample([1.0, 0.0], -2.0), now=T0)
    assert start.spoof_raw_sum == -2.0
    assert start.spoof_baseline == -2.0
    grown = start.add(sample([0.0, 1.0], 5.0), now=T0)
    assert grown.spoof_raw_sum == 3.0
    assert grown.spoof_baseline == 1.5
    assert grown.centroid.vector == pytest.approx([2**-0.5, 2**-0.5])  # unchanged by the score
    # A sample without one (assessed by no countermeasure) leaves the enrolment without one ...
    without = grown.add(sample([1.0, 0.0], None), now=T0)
    assert without.spoof_raw_sum is None
    assert without.spoof_baseline is None
    # ... and so does every later sample, until the enrolment is started afresh.
    assert without.add(sample([1.0, 0.0], 1.0), now=T0).spoof_raw_sum is None
    again = apply_sample(
        without, user_id=user, phone=None, sample=sample([0.0, 1.0], 0.5), now=T0, replace=True
    )
    assert again.sample_count == 1
    assert again.spoof_raw_sum == 0.5
    kept = apply_sample(
        again, user_id=user, phone=None, sample=sample([1.0, 0.0], 1.5), now=T0, replace=False
    )
    assert kept.spoof_raw_sum == 2.0
    assert kept.spoof_baseline == 1.0


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), float("-inf")])
def test_a_spoof_score_that_is_not_a_number_is_refused(raw: float) -> None:
    embedding = Embedding.from_vector([1.0, 0.0], "m")
    with pytest.raises(InvalidInputError):
        EnrollmentSample(embedding=embedding, speech_seconds=3, spoof_raw=raw)
    start = Enrollment.start(
        user_id=UserId.new(),
        phone=None,
        sample=EnrollmentSample(embedding=embedding, speech_seconds=3),
        now=T0,
    )
    with pytest.raises(InvalidInputError):
        Enrollment(
            user_id=start.user_id,
            phone=None,
            embedding_sum=start.embedding_sum,
            sample_count=1,
            speech_seconds=3,
            model_id="m",
            enrolled_at=T0,
            updated_at=T0,
            spoof_raw_sum=raw,
        )


def test_a_sum_passing_through_zero_still_takes_the_next_sample() -> None:
    def sample(vector: list[float], model: str = "m") -> EnrollmentSample:
        return EnrollmentSample(embedding=Embedding.from_vector(vector, model), speech_seconds=3)

    start = Enrollment.start(user_id=UserId.new(), phone=None, sample=sample([1.0, 0.0]), now=T0)
    cancelled = start.add(sample([-1.0, 0.0]), now=T0)  # the sum is zero: no centroid yet
    grown = cancelled.add(sample([0.0, 1.0]), now=T0)
    assert grown.sample_count == 3
    assert grown.centroid.vector == pytest.approx([0.0, 1.0])
    with pytest.raises(ModelMismatchError):
        cancelled.add(sample([0.0, 1.0], "x"), now=T0)


def test_cursors_round_trip_and_refuse_forgeries() -> None:
    cursor = AttemptCursor(created_at=T0, attempt_id=uuid.uuid4())
    assert AttemptCursor.decode(cursor.encode()) == cursor
    user_cursor = UserCursor(user_id=uuid.uuid4())
    assert UserCursor.decode(user_cursor.encode()) == user_cursor
    for forged in ["", "abc", UserCursor(user_id=uuid.uuid4()).encode()]:
        with pytest.raises(InvalidInputError):
            AttemptCursor.decode(forged)


def test_attempt_success_follows_the_decision() -> None:
    for decision in Decision:
        attempt = Attempt(
            id=uuid.uuid4(),
            user_id=UserId.new(),
            decision=decision,
            score=None,
            raw_score=None,
            speech_seconds=0.0,
            channel="upload",
            correlation_id="",
            created_at=T0,
        )
        assert attempt.success is (decision is Decision.ACCEPT)
    assert Decision("step_up") is Decision.STEP_UP
    assert not Decision.STEP_UP.success


def _attempt(**spoof: object) -> Attempt:
    return Attempt(
        id=uuid.uuid4(),
        user_id=UserId.new(),
        decision=Decision.STEP_UP,
        score=0.9,
        raw_score=0.7,
        speech_seconds=3.0,
        channel="vapi",
        correlation_id="",
        created_at=T0,
        **spoof,  # type: ignore[arg-type]
    )


def test_an_attempt_carries_its_spoof_assessment_or_none() -> None:
    assessed = _attempt(spoof_score=0.97, spoof_risk=SpoofRisk.HIGH)
    assert assessed.spoof_score == 0.97
    assert assessed.spoof_risk is SpoofRisk.HIGH
    assert not assessed.success
    plain = _attempt()
    assert plain.spoof_score is None
    assert plain.spoof_risk is None
    for edge in (0.0, 1.0):
        assert _attempt(spoof_score=edge, spoof_risk=SpoofRisk.LOW).spoof_score == edge
    assert [risk.value for risk in SpoofRisk] == ["low", "elevated", "high"]


@pytest.mark.parametrize(
    "spoof",
    [
        {"spoof_score": 0.5},
        {"spoof_risk": SpoofRisk.LOW},
        {"spoof_score": -0.01, "spoof_risk": SpoofRisk.LOW},
        {"spoof_score": 1.01, "spoof_risk": SpoofRisk.HIGH},
        {"spoof_score": float("nan"), "spoof_risk": SpoofRisk.HIGH},
    ],
)
def test_a_spoof_assessment_is_a_probability_with_its_risk(spoof: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        _attempt(**spoof)


@pytest.mark.parametrize(
    ("audio", "reason"),
    [
        (Audio(samples=np.zeros(0, np.float32), sample_rate=16000), "empty"),
        (synthetic_voice(seconds=0.1), "too_short"),
        (synthetic_voice(seconds=31.0), "too_long"),
        (Audio.silence(3.0), "silent"),
        (
            Audio(
                samples=np.sign(np.sin(np.arange(48000) * 0.05)).astype(np.float32),
                sample_rate=16000,
            ),
            "clipped",
        ),
    ],
)
def test_quality_gate_names_the_problem(audio: Audio, reason: str) -> None:
    with pytest.raises(AudioProcessingError) as caught:
        QualityGate().check_recording(audio)
    assert caught.value.reason == reason


def test_quality_gate_passes_good_audio_and_checks_enrolment_speech() -> None:
    gate = QualityGate(min_enroll_speech_s=3.0)
    gate.check_recording(synthetic_voice(seconds=4.0))
    gate.check_enrollment_speech(3.0)
    with pytest.raises(AudioProcessingError) as caught:
        gate.check_enrollment_speech(2.9)
    assert caught.value.reason == "not_enough_speech"
