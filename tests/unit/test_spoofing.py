"""Spoof values and windows (properties); the spectral-flux fake (the SpoofDetector contract)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.contract.spoof_detector_contract import SpoofDetectorContract
from voiceauth_core import (
    CANONICAL_RATE,
    Audio,
    InvalidInputError,
    ModelMismatchError,
    SpoofAssessment,
    SpoofCalibration,
    SpoofSegment,
)
from voiceauth_core.spoofing import window_bounds
from voiceauth_core.testing import ALICE, BOB, SpectralFluxSpoofDetector
from voiceauth_core.testing.spoofing import FLUX_DETECTOR_ID

pytestmark = pytest.mark.unit

scores = st.floats(-1e6, 1e6, allow_nan=False)
calibrations = st.builds(
    SpoofCalibration,
    scale=st.floats(1e-3, 1e3),
    offset=st.floats(-1e3, 1e3),
    detector_id=st.just("d"),
)


class TestSpectralFluxSpoofDetector(SpoofDetectorContract):
    @pytest.fixture
    def detector(self) -> SpectralFluxSpoofDetector:
        return SpectralFluxSpoofDetector()

    @pytest.fixture
    def speech_clip(self) -> Audio:
        return ALICE.voice(seconds=10.0, seed=5)


@given(calibrations, scores, scores)
def test_the_probability_is_bounded_and_rises_with_the_score(
    calibration: SpoofCalibration, low: float, high: float
) -> None:
    low, high = sorted((low, high))
    p_low, p_high = calibration.probability(low), calibration.probability(high)
    assert 0.0 <= p_low <= p_high <= 1.0


def test_the_probability_is_the_logistic_and_never_overflows() -> None:
    calibration = SpoofCalibration(scale=2.0, offset=-1.0, detector_id="d")
    assert calibration.probability(0.5) == 0.5
    assert calibration.probability(1.0) == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert calibration.probability(1e308) == 1.0
    assert calibration.probability(-1e308) == 0.0


@pytest.mark.parametrize(
    ("scale", "offset", "detector_id"),
    [(0.0, 0.0, "d"), (-1.0, 0.0, "d"), (math.inf, 0.0, "d"), (1.0, math.nan, "d"), (1.0, 0, "")],
)
def test_a_calibration_must_rise_and_name_its_detector(
    scale: float, offset: float, detector_id: str
) -> None:
    with pytest.raises(InvalidInputError):
        SpoofCalibration(scale=scale, offset=offset, detector_id=detector_id)


@given(st.lists(scores, min_size=1, max_size=20), calibrations)
def test_an_assessment_calibrates_the_mean_of_its_segments(
    values: list[float], calibration: SpoofCalibration
) -> None:
    segments = tuple(SpoofSegment(start_s=i, end_s=i + 1, score=v) for i, v in enumerate(values))
    assessment = SpoofAssessment.calibrated(
        segments=segments, seconds=len(values), calibration=calibration
    )
    assert assessment.combined == pytest.approx(float(np.mean(values)), abs=1e-6)
    assert min(values) - 1e-9 <= assessment.combined <= max(values) + 1e-9
    assert assessment.probability == calibration.probability(assessment.combined)
    assert assessment.detector_id == calibration.detector_id
    assert assessment.scores == tuple(values)


def test_the_mean_of_huge_scores_does_not_overflow() -> None:
    segments = (SpoofSegment(start_s=0, end_s=1, score=1.5e308),) * 2
    assert SpoofAssessment(
        detector_id="d", segments=segments, seconds=1, probability=1.0
    ).combined == pytest.approx(1.5e308)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SpoofAssessment(detector_id="d", segments=(), seconds=1.0, probability=0.5),
        lambda: SpoofAssessment(
            detector_id="d",
            segments=(SpoofSegment(start_s=0, end_s=2, score=0),),
            seconds=1.0,
            probability=0.5,
        ),
        lambda: SpoofAssessment(
            detector_id="d",
            segments=(SpoofSegment(start_s=0, end_s=1, score=0),),
            seconds=1.0,
            probability=1.5,
        ),
        lambda: SpoofSegment(start_s=0, end_s=1, score=math.nan),
        lambda: SpoofSegment(start_s=1, end_s=1, score=0.0),
    ],
)
def test_inconsistent_values_are_refused(make: object) -> None:
    with pytest.raises(InvalidInputError):
        make()  # type: ignore[operator]


@given(st.integers(1, 10**6), st.integers(1, 10**5))
def test_windows_cover_the_speech_in_order_and_are_full_when_they_can_be(
    length: int, window: int
) -> None:
    bounds = window_bounds(length, window)
    assert bounds[0][0] == 0
    assert bounds[-1][1] == length
    for (start, end), (next_start, _) in itertools.pairwise(bounds):
        assert start < next_start <= end  # in order, no gap
    if length <= window:
        assert bounds == ((0, length),)
    else:
        assert all(end - start == window for start, end in bounds)
        assert len(bounds) == math.ceil(length / window)
        # Only the last window overlaps the one before it.
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds[:-1]))


def test_windows_need_a_positive_length() -> None:
    with pytest.raises(InvalidInputError):
        window_bounds(0, 10)


async def test_the_fake_flags_a_steady_tone_and_passes_voices() -> None:
    detector = SpectralFluxSpoofDetector()
    t = np.arange(3 * CANONICAL_RATE) / CANONICAL_RATE
    tone = Audio(samples=(0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sample_rate=16000)
    assert (await detector.assess(tone)).probability > 0.9
    for voice in (ALICE.voice(seconds=3.0, seed=1), BOB.voice(seconds=3.0, seed=2)):
        assert (await detector.assess(voice)).probability < 0.1


def test_the_fake_refuses_another_detectors_calibration() -> None:
    other = SpoofCalibration(scale=1.0, offset=0.0, detector_id="aasist")
    with pytest.raises(ModelMismatchError):
        SpectralFluxSpoofDetector(calibration=other)
    own = SpoofCalibration(scale=1.0, offset=0.0, detector_id=FLUX_DETECTOR_ID)
    assert SpectralFluxSpoofDetector(calibration=own).detector_id == FLUX_DETECTOR_ID
