"""The 1-D back-end: equal error rates of raw scores and the logistic calibration of them.

The service maps a countermeasure's mean raw score to a probability with one logistic function
(:class:`~voiceauth_core.spoofing.SpoofCalibration`); it is monotone, so it changes no error
rate: the EER is a property of the raw scores and the data, and the calibration only decides what
a probability threshold means.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceauth_core.errors import InvalidInputError
from voiceauth_core.metrics import equal_error_rate
from voiceauth_core.spoofing import SpoofCalibration

__all__ = ["EqualError", "equal_error", "fit_logistic", "group_weights"]

#: Keeps the Newton steps finite where the classes barely overlap (a synthetic test, a family
#: scored far from every genuine voice); small enough not to move a fit on real data.
_L2 = 1e-4
_ITERATIONS = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class EqualError:
    """Where genuine speech flagged as spoofed and spoofs passed as genuine are equally often.

    Args:
        rate: The equal error rate, in [0, 1].
        threshold: The raw score there (flag at or above it).
        bonafide: Genuine trials.
        spoof: Spoofed trials.
    """

    rate: float
    threshold: float
    bonafide: int
    spoof: int


def equal_error(bonafide: Sequence[float], spoof: Sequence[float]) -> EqualError:
    """The EER of raw scores where higher means more likely spoofed.

    A spoof is caught at ``score >= threshold`` (the core's :func:`equal_error_rate` with the
    spoofs as its targets); the threshold is the first score past the crossing, so a gate
    flagging at or above it is at (or just past) the EER.

    Raises:
        InvalidInputError: Either side is empty or a score is not finite.
    """
    rate, threshold = equal_error_rate(spoof, bonafide)
    if math.isinf(threshold):  # nothing caught: the top score flags at least one of each
        threshold = float(max(*bonafide, *spoof))
    return EqualError(rate=rate, threshold=threshold, bonafide=len(bonafide), spoof=len(spoof))


def group_weights(labels: Sequence[int], groups: Sequence[Hashable]) -> npt.NDArray[np.float64]:
    """Weights giving each class half the total, shared equally by its groups, then equally by
    the trials in a group (so no channel or family counts more for having more clips).

    Raises:
        InvalidInputError: The sequences differ in length or a class is missing.
    """
    if len(labels) != len(groups) or not labels:
        raise InvalidInputError("one label and one group per trial")
    keys = list(zip(labels, groups, strict=True))
    per_group = Counter(keys)
    groups_of = Counter(label for label, _ in per_group)
    if set(groups_of) != {0, 1}:
        raise InvalidInputError("a calibration needs bona fide and spoofed trials")
    return np.array(
        [0.5 / groups_of[label] / per_group[label, group] for label, group in keys],
        dtype=np.float64,
    )


def fit_logistic(
    raw: Sequence[float] | npt.NDArray[np.float64],
    labels: Sequence[int],
    weights: Sequence[float] | npt.NDArray[np.float64],
    *,
    detector_id: str,
) -> SpoofCalibration:
    """The weighted logistic regression of ``labels`` (1: spoof) on ``raw`` (Newton's method).

    With weights from :func:`group_weights` the classes weigh the same, so a probability of 0.5
    is where the raw score is equally likely from either class.

    Raises:
        InvalidInputError: Mismatched inputs, a single class, or a fit that does not increase
            with the raw score.
    """
    x = np.asarray(raw, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if not x.size == y.size == w.size or x.size == 0:
        raise InvalidInputError("one raw score, label and weight per trial")
    if not (np.any(y == 1) and np.any(y == 0)):
        raise InvalidInputError("a calibration needs bona fide and spoofed trials")
    w = w / w.sum()
    features = np.column_stack([x, np.ones_like(x)])
    beta = np.zeros(2)
    for _ in range(_ITERATIONS):
        z = np.clip(features @ beta, -40.0, 40.0)
        p = 1.0 / (1.0 + np.exp(-z))
        gradient = features.T @ (w * (p - y)) + _L2 * beta
        hessian = (features * (w * p * (1.0 - p))[:, None]).T @ features + _L2 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        beta = beta - step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    scale, offset = float(beta[0]), float(beta[1])
    if not (math.isfinite(scale) and scale > 0 and math.isfinite(offset)):
        raise InvalidInputError("the fitted calibration does not increase with the raw score")
    return SpoofCalibration(scale=scale, offset=offset, detector_id=detector_id)
