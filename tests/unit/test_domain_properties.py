"""Hypothesis properties of the domain rules: scores, thresholds, centroids, phone parsing."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from voiceauth_core import (
    Audio,
    CosinePolicy,
    Decision,
    Embedding,
    Enrollment,
    EnrollmentSample,
    InvalidInputError,
    PhoneNumber,
    Score,
    UserId,
)
from voiceauth_core.enrollment import apply_sample

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, tzinfo=UTC)
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
vectors = arrays(np.float64, 16, elements=finite).filter(lambda v: np.linalg.norm(v) > 1e-3)


def embedding(vector: np.ndarray) -> Embedding:
    return Embedding.from_vector(vector, "m")


@given(vectors, vectors)
def test_cosine_is_symmetric_and_bounded(a: np.ndarray, b: np.ndarray) -> None:
    first, second = embedding(a), embedding(b)
    assert first.cosine(second) == pytest.approx(second.cosine(first), abs=1e-12)
    assert -1.0 <= first.cosine(second) <= 1.0


@given(vectors)
def test_an_embedding_matches_itself(a: np.ndarray) -> None:
    assert embedding(a).cosine(embedding(a)) == pytest.approx(1.0)


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_decision_is_monotone_in_the_threshold(score: float, low: float, high: float) -> None:
    low, high = min(low, high), max(low, high)
    trial = Score(calibrated=score, raw=score)
    strict, lenient = CosinePolicy(threshold=high), CosinePolicy(threshold=low)
    if strict.decide(trial) is Decision.ACCEPT:
        assert lenient.decide(trial) is Decision.ACCEPT
    if lenient.decide(trial) is Decision.REJECT:
        assert strict.decide(trial) is Decision.REJECT


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0.0, 0.5))
def test_an_early_decision_agrees_with_the_final_one(
    score: float, threshold: float, margin: float
) -> None:
    policy = CosinePolicy(threshold=threshold, margin=margin)
    trial = Score(calibrated=score, raw=score)
    early = policy.early_decision(trial, speech_seconds=2.0)
    assert early is None or early is policy.decide(trial)


@given(st.lists(vectors, min_size=1, max_size=8), st.randoms())
def test_centroid_does_not_depend_on_sample_order(vectors_: list[np.ndarray], rnd) -> None:  # type: ignore[no-untyped-def]
    total = np.sum([v / np.linalg.norm(v) for v in vectors_], axis=0)
    assume(np.linalg.norm(total) > 1e-3)
    samples = [EnrollmentSample(embedding=embedding(v), speech_seconds=1.0) for v in vectors_]
    shuffled = samples[:]
    rnd.shuffle(shuffled)

    def enrol(order: list[EnrollmentSample]) -> Enrollment:
        user = UserId.parse("00000000-0000-4000-8000-000000000001")
        enrollment = Enrollment.start(user_id=user, phone=None, sample=order[0], now=T0)
        for item in order[1:]:
            enrollment = enrollment.add(item, now=T0)
        return enrollment

    first, second = enrol(samples), enrol(shuffled)
    assert first.sample_count == second.sample_count == len(samples)
    assert first.centroid.cosine(second.centroid) == pytest.approx(1.0, abs=1e-9)


#: A sample's raw spoof score, or None (not assessed); dyadic values keep the sums exact.
raw_scores = st.one_of(st.none(), st.integers(-4096, 4096).map(lambda n: n / 64))


@given(
    st.lists(st.tuples(raw_scores, st.booleans()), min_size=1, max_size=12),
)
def test_the_spoof_sum_is_the_samples_sum_while_every_sample_since_the_start_had_one(
    steps: list[tuple[float | None, bool]],
) -> None:
    """Through any run of samples (some replacing the enrolment), ``spoof_raw_sum`` is the sum
    of the raw scores since the last fresh start if every one of them had one, else None; the
    baseline is its mean over the samples."""
    user = UserId.parse("00000000-0000-4000-8000-000000000002")
    current: Enrollment | None = None
    since_start: list[float | None] = []
    for index, (raw, replace) in enumerate(steps):
        sample = EnrollmentSample(
            embedding=embedding(np.array([1.0, float(index)])), speech_seconds=1.0, spoof_raw=raw
        )
        if current is None or replace:
            since_start = []
        since_start.append(raw)
        current = apply_sample(
            current, user_id=user, phone=None, sample=sample, now=T0, replace=replace
        )
        assert current.sample_count == len(since_start)
        if any(value is None for value in since_start):
            assert current.spoof_raw_sum is None
            assert current.spoof_baseline is None
        else:
            total = sum(value for value in since_start if value is not None)
            assert current.spoof_raw_sum == total
            assert current.spoof_baseline == pytest.approx(total / len(since_start))


@given(st.lists(raw_scores, min_size=1, max_size=8), st.randoms())
def test_the_spoof_sum_does_not_depend_on_sample_order(
    raws: list[float | None], rnd: random.Random
) -> None:
    samples = [
        EnrollmentSample(embedding=embedding(np.array([1.0, 0.0])), speech_seconds=1.0, spoof_raw=r)
        for r in raws
    ]
    shuffled = samples[:]
    rnd.shuffle(shuffled)

    def enrol(order: list[EnrollmentSample]) -> Enrollment:
        user = UserId.parse("00000000-0000-4000-8000-000000000003")
        enrollment = Enrollment.start(user_id=user, phone=None, sample=order[0], now=T0)
        for item in order[1:]:
            enrollment = enrollment.add(item, now=T0)
        return enrollment

    assert enrol(samples).spoof_raw_sum == enrol(shuffled).spoof_raw_sum


@given(st.text())
def test_phone_parsing_never_crashes(text: str) -> None:
    try:
        phone = PhoneNumber.parse(text)
    except InvalidInputError:
        return
    assert phone.e164.startswith("+")
    assert phone.e164[1:].isdigit()
    assert 8 <= len(phone.e164) <= 16


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_valid_e164_numbers_parse_and_mask(text: str) -> None:
    phone = PhoneNumber.parse(text)
    assert phone.e164 == text
    assert phone.masked().endswith(text[-2:])
    assert text[1:-2] not in phone.masked() or len(text) <= 4


@given(st.binary(max_size=4096), st.sampled_from([8000, 16000]))
def test_pcm16_decoding_never_crashes(data: bytes, rate: int) -> None:
    audio = Audio.from_pcm16(data, rate)
    assert len(audio.samples) == len(data) // 2
    assert np.all(np.abs(audio.samples) <= 1.0)
