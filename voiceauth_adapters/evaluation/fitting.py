"""Fitting the calibrated policy: scores recorded along the Verify loop, then the fitted map.

``voiceauth cohort calibrate`` runs calibration speakers' trials through the service's own Verify
loop with a :class:`ScoreRecorder` as the policy: every check scores the capture so far, and the
recorder keeps each AS-normalised score with its net speech. :func:`fit_parameters` then fits the
logistic calibration on all of them, places the operating point, and picks the early-decision
margins by replaying the loop on the recorded scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from voiceauth_core.attempt import Decision
from voiceauth_core.calibration import AsNorm, Calibration, fit_calibration, logit
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.scoring import Score

__all__ = [
    "FittedPolicy",
    "RecordedTrial",
    "ScoreRecorder",
    "choose_margins",
    "fit_parameters",
    "replay",
]


class ScoreRecorder:
    """A scoring policy that records AS-normalised scores and never decides early.

    Its calibrated score is ``sigmoid(normalised)`` (only the order matters here). Take the
    scores of one verification with :meth:`take` after it.

    Args:
        asnorm: The normaliser whose scores are recorded.
    """

    def __init__(self, asnorm: AsNorm) -> None:
        self._asnorm = asnorm
        self._points: list[tuple[float, float]] = []

    @property
    def name(self) -> str:
        """Identifies the recorder."""
        return "asnorm-recorder"

    @property
    def threshold(self) -> float:
        """Half way: the recorder's decisions are not used."""
        return 0.5

    def score(self, enrollment: Enrollment, probe: Embedding, *, speech_seconds: float) -> Score:
        """Score and record ``(speech_seconds, normalised)``."""
        centroid = enrollment.centroid
        raw = centroid.cosine(probe)
        normalised = self._asnorm.normalise(centroid, probe, raw)
        self._points.append((speech_seconds, normalised))
        return Score(calibrated=1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, normalised)))), raw=raw)

    def decide(self, score: Score) -> Decision:
        """Accept above one half (unused)."""
        return Decision.ACCEPT if score.calibrated >= 0.5 else Decision.REJECT

    def early_decision(self, score: Score, *, speech_seconds: float) -> Decision | None:
        """Never: the loop runs to the end so every check is recorded."""
        del score, speech_seconds
        return None

    def take(self) -> list[tuple[float, float]]:
        """The points recorded since the last call, ordered and without repeats."""
        points = sorted(set(self._points))
        self._points.clear()
        return points


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedTrial:
    """One calibration trial: the normalised score at each check of the loop.

    Args:
        condition: Which condition it came from (``clean/phone``, ...).
        genuine: Same speaker.
        points: ``(speech_seconds, normalised)`` per check, by increasing speech.
    """

    condition: str
    genuine: bool
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FittedPolicy:
    """What :func:`fit_parameters` found.

    Args:
        calibration: The map, shifted so that ``threshold`` is the operating point.
        accept_margin: Log-odds above the threshold for an early accept.
        reject_margin: Log-odds below the threshold for an early reject.
        operating_log_odds: The unshifted log-odds of the operating point.
        summary: Per-condition replay results on the fitting data (for the record).
    """

    calibration: Calibration
    accept_margin: float
    reject_margin: float
    operating_log_odds: float
    summary: dict[str, dict[str, float]] = field(default_factory=dict)


def replay(
    trials: Sequence[RecordedTrial],
    calibration: Calibration,
    *,
    point: float,
    accept_margin: float,
    reject_margin: float,
    target_speech_s: float,
) -> list[tuple[RecordedTrial, Decision, float]]:
    """The decision and speech used per trial, replaying the early-decision loop."""
    out: list[tuple[RecordedTrial, Decision, float]] = []
    for trial in trials:
        decision, used = Decision.REJECT, 0.0
        for index, (seconds, normalised) in enumerate(trial.points):
            odds = calibration.log_odds(normalised, speech_seconds=seconds)
            used = seconds
            if index == len(trial.points) - 1 or seconds >= target_speech_s:
                decision = Decision.ACCEPT if odds >= point else Decision.REJECT
                break
            if odds >= point + accept_margin:
                decision = Decision.ACCEPT
                break
            if odds <= point - reject_margin:
                decision = Decision.REJECT
                break
        out.append((trial, decision, used))
    return out


def _errors(decided: Sequence[tuple[RecordedTrial, Decision, float]]) -> tuple[int, int, int, int]:
    fr = sum(1 for t, d, _ in decided if t.genuine and d is not Decision.ACCEPT)
    fa = sum(1 for t, d, _ in decided if not t.genuine and d is Decision.ACCEPT)
    return (
        fr,
        sum(1 for t, _, _ in decided if t.genuine),
        fa,
        sum(1 for t, _, _ in decided if not t.genuine),
    )


def choose_margins(
    trials: Sequence[RecordedTrial],
    calibration: Calibration,
    *,
    point: float,
    target_speech_s: float,
    candidates: Sequence[float] = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0),
) -> tuple[float, float]:
    """The smallest margins whose early decisions add no error to the full-length decisions.

    Each side is chosen on its own: the smallest accept margin whose early accepts add no false
    accept over the decision on the whole capture, and likewise for rejects.
    """
    full = replay(
        trials,
        calibration,
        point=point,
        accept_margin=math.inf,
        reject_margin=math.inf,
        target_speech_s=target_speech_s,
    )
    base = _errors(full)
    accept = candidates[-1]
    for margin in candidates:
        run = replay(
            trials,
            calibration,
            point=point,
            accept_margin=margin,
            reject_margin=math.inf,
            target_speech_s=target_speech_s,
        )
        if _errors(run)[2] <= base[2]:
            accept = margin
            break
    reject = candidates[-1]
    for margin in candidates:
        run = replay(
            trials,
            calibration,
            point=point,
            accept_margin=math.inf,
            reject_margin=margin,
            target_speech_s=target_speech_s,
        )
        if _errors(run)[0] <= base[0]:
            reject = margin
            break
    return accept, reject


def _place_point(
    trials: Sequence[RecordedTrial], calibration: Calibration, *, target_speech_s: float
) -> float:
    """The operating point: the log-odds that best balance each condition's error targets.

    Candidates are scanned; each is scored by its worst condition's ``max(FRR / 3 %,
    FAR / 0.5 %)`` on whole captures, and the middle of the best run of candidates is taken, so
    the point sits in the middle of the safe band rather than at its edge.
    """
    conditions = sorted({t.condition for t in trials})
    grid = np.arange(-6.0, 12.0, 0.05)
    finals: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in conditions:
        tar: list[float] = []
        non: list[float] = []
        for t in trials:
            if t.condition != name:
                continue
            seconds, normalised = t.points[-1]
            for s, n in t.points:
                if s >= target_speech_s:
                    seconds, normalised = s, n
                    break
            odds = calibration.log_odds(normalised, speech_seconds=seconds)
            (tar if t.genuine else non).append(odds)
        finals[name] = (np.array(tar), np.array(non))
    worst = np.zeros(grid.size)
    for genuine, impostor in finals.values():
        if genuine.size == 0 or impostor.size == 0:
            continue
        frr = (genuine[None, :] < grid[:, None]).mean(axis=1)
        far = (impostor[None, :] >= grid[:, None]).mean(axis=1)
        worst = np.maximum(worst, np.maximum(frr / 0.03, far / 0.005))
    best = worst.min()
    chosen = np.nonzero(worst <= best + 1e-12)[0]
    return float(grid[chosen[len(chosen) // 2]])


def fit_parameters(
    trials: Sequence[RecordedTrial],
    *,
    threshold: float = 0.82,
    target_speech_s: float = 8.0,
    min_speech_s: float = 1.0,
    max_speech_s: float = 10.0,
) -> FittedPolicy:
    """Fit the calibration on every recorded point, place the operating point, pick margins.

    The calibration's bias is shifted so that its sigmoid equals ``threshold`` exactly at the
    operating point: with the default threshold the service works at the fitted point.

    Raises:
        InvalidInputError: No genuine or no impostor trials.
    """
    if not trials:
        raise InvalidInputError("no calibration trials")
    scores, seconds, labels = [], [], []
    for trial in trials:
        for s, n in trial.points:
            scores.append(n)
            seconds.append(s)
            labels.append(1 if trial.genuine else 0)
    fitted = fit_calibration(
        scores, seconds, labels, min_speech_s=min_speech_s, max_speech_s=max_speech_s
    )
    point = _place_point(trials, fitted, target_speech_s=target_speech_s)
    shift = logit(threshold) - point
    shifted = Calibration(
        slope=fitted.slope,
        bias=fitted.bias + shift,
        slope_per_log_s=fitted.slope_per_log_s,
        bias_per_log_s=fitted.bias_per_log_s + 0.0,
        min_speech_s=min_speech_s,
        max_speech_s=max_speech_s,
    )
    at = logit(threshold)
    accept, reject = choose_margins(trials, shifted, point=at, target_speech_s=target_speech_s)
    summary: dict[str, dict[str, float]] = {}
    for name in sorted({t.condition for t in trials}):
        own = [t for t in trials if t.condition == name]
        run = replay(
            own,
            shifted,
            point=at,
            accept_margin=accept,
            reject_margin=reject,
            target_speech_s=target_speech_s,
        )
        fr, tar, fa, non = _errors(run)
        summary[name] = {
            "false_rejects": fr,
            "genuine": tar,
            "false_accepts": fa,
            "impostor": non,
            "median_speech_s": float(np.median([used for _, _, used in run])),
        }
    return FittedPolicy(
        calibration=shifted,
        accept_margin=accept,
        reject_margin=reject,
        operating_log_odds=point,
        summary=summary,
    )
