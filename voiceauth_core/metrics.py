"""Verification metrics from trial scores: error rates, EER, minDCF and DET points (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceauth_core.errors import InvalidInputError

__all__ = [
    "DetCurve",
    "ErrorCounts",
    "det_curve",
    "equal_error_rate",
    "error_counts",
    "min_dcf",
]

Scores = npt.ArrayLike


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorCounts:
    """False rejects and false accepts at one threshold (accept at or above it).

    Args:
        threshold: The operating point.
        false_rejects: Genuine trials scored below the threshold.
        genuine: Genuine (same-speaker) trials.
        false_accepts: Impostor trials scored at or above the threshold.
        impostor: Impostor (different-speaker) trials.
    """

    threshold: float
    false_rejects: int
    genuine: int
    false_accepts: int
    impostor: int

    @property
    def frr(self) -> float:
        """False-reject rate (0.0 without genuine trials)."""
        return self.false_rejects / self.genuine if self.genuine else 0.0

    @property
    def far(self) -> float:
        """False-accept rate (0.0 without impostor trials)."""
        return self.false_accepts / self.impostor if self.impostor else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DetCurve:
    """Miss and false-alarm probabilities over every distinct threshold, ascending.

    Args:
        thresholds: The candidate thresholds (each trial's score, then +inf).
        miss: Fraction of genuine trials below each threshold (non-decreasing).
        false_alarm: Fraction of impostor trials at or above each threshold (non-increasing).
    """

    thresholds: npt.NDArray[np.float64]
    miss: npt.NDArray[np.float64]
    false_alarm: npt.NDArray[np.float64]


def _split(genuine: Scores, impostor: Scores) -> tuple[npt.NDArray[np.float64], ...]:
    tar = np.asarray(genuine, dtype=np.float64).ravel()
    non = np.asarray(impostor, dtype=np.float64).ravel()
    if tar.size == 0 or non.size == 0:
        raise InvalidInputError("metrics need at least one genuine and one impostor trial")
    if not (np.all(np.isfinite(tar)) and np.all(np.isfinite(non))):
        raise InvalidInputError("scores must be finite")
    return tar, non


def error_counts(genuine: Scores, impostor: Scores, threshold: float) -> ErrorCounts:
    """Count the errors of the rule "accept when score >= threshold"."""
    tar, non = _split(genuine, impostor)
    return ErrorCounts(
        threshold=threshold,
        false_rejects=int(np.sum(tar < threshold)),
        genuine=int(tar.size),
        false_accepts=int(np.sum(non >= threshold)),
        impostor=int(non.size),
    )


def det_curve(genuine: Scores, impostor: Scores) -> DetCurve:
    """Miss and false-alarm rates at every threshold where one of them changes."""
    tar, non = _split(genuine, impostor)
    thresholds = np.unique(np.concatenate([tar, non, [np.inf]]))
    tar_sorted = np.sort(tar)
    non_sorted = np.sort(non)
    miss = np.searchsorted(tar_sorted, thresholds, side="left") / tar.size
    false_alarm = 1.0 - np.searchsorted(non_sorted, thresholds, side="left") / non.size
    return DetCurve(thresholds=thresholds, miss=miss, false_alarm=false_alarm)


def equal_error_rate(genuine: Scores, impostor: Scores) -> tuple[float, float]:
    """The equal-error rate and the threshold where it is reached.

    The miss and false-alarm curves are steps over the sorted scores; the EER is where the
    straight line between the last point with miss < false-alarm and the first with
    miss >= false-alarm crosses the diagonal.

    Returns:
        ``(eer, threshold)``; the threshold is the score at the first point past the crossing.
    """
    curve = det_curve(genuine, impostor)
    diff = curve.miss - curve.false_alarm  # rises from -1 to +1
    index = int(np.argmax(diff >= 0.0))
    if index == 0 or diff[index] == 0.0:
        eer = float((curve.miss[index] + curve.false_alarm[index]) / 2.0)
        return eer, float(curve.thresholds[index])
    m0, m1 = curve.miss[index - 1], curve.miss[index]
    f0, f1 = curve.false_alarm[index - 1], curve.false_alarm[index]
    # Solve m0 + t (m1 - m0) = f0 + t (f1 - f0) for t in (0, 1].
    t = (f0 - m0) / ((m1 - m0) - (f1 - f0))
    return float(m0 + t * (m1 - m0)), float(curve.thresholds[index])


def min_dcf(
    genuine: Scores,
    impostor: Scores,
    *,
    p_target: float = 0.01,
    c_miss: float = 1.0,
    c_fa: float = 1.0,
) -> tuple[float, float]:
    """The minimum normalised detection cost (NIST SRE) over all thresholds.

    ``DCF = c_miss * P_miss * p_target + c_fa * P_fa * (1 - p_target)``, divided by the cost of
    the best trivial system ``min(c_miss * p_target, c_fa * (1 - p_target))``.

    Returns:
        ``(min_dcf, threshold)``.
    """
    if not 0.0 < p_target < 1.0:
        raise InvalidInputError("p_target must lie strictly between 0 and 1")
    curve = det_curve(genuine, impostor)
    cost = c_miss * p_target * curve.miss + c_fa * (1.0 - p_target) * curve.false_alarm
    cost = cost / min(c_miss * p_target, c_fa * (1.0 - p_target))
    index = int(np.argmin(cost))
    return float(cost[index]), float(curve.thresholds[index])
