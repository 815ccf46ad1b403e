"""Verification metrics on synthetic score sets with known answers, and against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceauth_core.errors import InvalidInputError
from voiceauth_core.metrics import det_curve, equal_error_rate, error_counts, min_dcf

pytestmark = pytest.mark.unit


def _rates(genuine: list[float], impostor: list[float], threshold: float) -> tuple[float, float]:
    """Miss and false-alarm rates by counting, one trial at a time (the independent oracle)."""
    misses = sum(1 for s in genuine if s < threshold)
    alarms = sum(1 for s in impostor if s >= threshold)
    return misses / len(genuine), alarms / len(impostor)


def _brute_min_dcf(genuine: list[float], impostor: list[float], p_target: float) -> float:
    best = math.inf
    for threshold in [*genuine, *impostor, math.inf]:
        miss, alarm = _rates(genuine, impostor, threshold)
        cost = (p_target * miss + (1 - p_target) * alarm) / min(p_target, 1 - p_target)
        best = min(best, cost)
    return best


def test_separated_scores_have_zero_eer_and_zero_min_dcf() -> None:
    eer, threshold = equal_error_rate([0.8, 0.9, 0.95], [0.1, 0.2, 0.3, 0.4])
    assert eer == 0.0
    assert 0.4 < threshold <= 0.8
    assert min_dcf([0.8, 0.9, 0.95], [0.1, 0.2, 0.3, 0.4])[0] == 0.0


def test_reversed_scores_have_eer_one() -> None:
    assert equal_error_rate([0.1, 0.2], [0.8, 0.9])[0] == pytest.approx(1.0)


def test_one_overlapping_pair_in_ten_gives_ten_percent() -> None:
    # Genuine 0.55 sits below impostor 0.6: at any threshold one of them errs, 1 in 10 each side.
    genuine = [0.55, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.77, 0.78]
    impostor = [0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.18, 0.6]
    eer, _ = equal_error_rate(genuine, impostor)
    assert eer == pytest.approx(0.1)


def test_gaussian_eer_matches_the_closed_form() -> None:
    # Genuine N(d, 1), impostor N(0, 1): EER = Phi(-d / 2).
    rng = np.random.default_rng(7)
    d = 2.0
    genuine = rng.normal(d, 1.0, 200_000)
    impostor = rng.normal(0.0, 1.0, 200_000)
    expected = 0.5 * math.erfc((d / 2) / math.sqrt(2))
    assert equal_error_rate(genuine, impostor)[0] == pytest.approx(expected, abs=0.003)


def test_error_counts_accept_at_the_threshold() -> None:
    counts = error_counts([0.5, 0.82, 0.9], [0.82, 0.1, 0.2, 0.3], 0.82)
    assert (counts.false_rejects, counts.genuine) == (1, 3)
    assert (counts.false_accepts, counts.impostor) == (1, 4)
    assert counts.frr == pytest.approx(1 / 3)
    assert counts.far == pytest.approx(1 / 4)


def test_det_curve_is_monotone_and_ends_at_the_corners() -> None:
    rng = np.random.default_rng(3)
    curve = det_curve(rng.normal(1, 1, 300), rng.normal(0, 1, 500))
    assert np.all(np.diff(curve.miss) >= 0)
    assert np.all(np.diff(curve.false_alarm) <= 0)
    assert curve.miss[0] == 0.0
    assert curve.false_alarm[0] == 1.0
    assert curve.miss[-1] == 1.0
    assert curve.false_alarm[-1] == 0.0


def test_empty_or_invalid_scores_are_refused() -> None:
    with pytest.raises(InvalidInputError):
        equal_error_rate([], [0.1])
    with pytest.raises(InvalidInputError):
        min_dcf([0.5, float("nan")], [0.1])
    with pytest.raises(InvalidInputError):
        min_dcf([0.5], [0.1], p_target=0.0)


scores = st.lists(st.integers(0, 40).map(lambda v: v / 40), min_size=1, max_size=30)


@given(genuine=scores, impostor=scores)
def test_min_dcf_matches_brute_force(genuine: list[float], impostor: list[float]) -> None:
    value, threshold = min_dcf(genuine, impostor, p_target=0.01)
    assert value == pytest.approx(_brute_min_dcf(genuine, impostor, 0.01))
    miss, alarm = _rates(genuine, impostor, threshold)
    assert value == pytest.approx((0.01 * miss + 0.99 * alarm) / 0.01)


@given(genuine=scores, impostor=scores)
def test_eer_lies_in_the_bracket_of_the_crossing(
    genuine: list[float], impostor: list[float]
) -> None:
    eer, _ = equal_error_rate(genuine, impostor)
    points = [_rates(genuine, impostor, t) for t in sorted({*genuine, *impostor, math.inf})]
    first = next(i for i, (miss, alarm) in enumerate(points) if miss >= alarm)
    miss1, alarm1 = points[first]
    if first == 0 or miss1 == alarm1:
        assert eer == pytest.approx((miss1 + alarm1) / 2)
        return
    miss0, alarm0 = points[first - 1]
    # Where the segment between the two points crosses the diagonal: within both rates' ranges.
    assert max(miss0, alarm1) - 1e-12 <= eer <= min(miss1, alarm0) + 1e-12
