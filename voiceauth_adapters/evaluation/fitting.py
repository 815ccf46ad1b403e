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
from dataclasses import dataclass, field, replace

import numpy as np

from voiceauth_core.attempt import Decision
from voiceauth_core.calibration import (
    AsNorm,
    BandEstimator,
    Calibration,
    fit_calibration,
    logit,
    sigmoid,
)
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.scoring import Score

__all__ = [
    "FittedPolicy",
    "Point",
    "RecordedTrial",
    "ScoreRecorder",
    "choose_margins",
    "fit_parameters",
    "middle_of_safe_band",
    "replay",
]


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Point:
    """One check of the Verify loop as the recorder saw it.

    Args:
        speech_s: Net speech scored.
        normalised: The AS-normalised score.
        enroll_band: The enrolment's band score (:meth:`BandEstimator.band_score`).
        probe_band: The probe's band score.
    """

    speech_s: float
    normalised: float
    enroll_band: float
    probe_band: float


class ScoreRecorder:
    """A scoring policy that records AS-normalised scores and never decides early.

    Its calibrated score is ``sigmoid(normalised)`` (only the order matters here). Take the
    points of one verification with :meth:`take` after it.

    It always scores the enrolment's voiceprint as recorded, never its phone-band voiceprint:
    the calibration must learn what a channel mismatch does to the score (enrolments made
    without a phone-band voiceprint still meet it), and a trial the service scores against the
    phone-band voiceprint is a same-channel trial, which the clean/clean and phone/phone
    conditions teach it.

    Args:
        asnorm: The normaliser whose scores are recorded.
        band: Measures each side's band score.
    """

    def __init__(self, asnorm: AsNorm, band: BandEstimator) -> None:
        self._asnorm = asnorm
        self._band = band
        self._points: list[Point] = []

    @property
    def name(self) -> str:
        """Identifies the recorder."""
        return "asnorm-recorder"

    @property
    def threshold(self) -> float:
        """Half way: the recorder's decisions are not used."""
        return 0.5

    def score(self, enrollment: Enrollment, probe: Embedding, *, speech_seconds: float) -> Score:
        """Score and record a :class:`Point`."""
        centroid = enrollment.centroid
        raw = centroid.cosine(probe)
        normalised = self._asnorm.normalise(centroid, probe, raw)
        self._points.append(
            Point(
                speech_s=speech_seconds,
                normalised=normalised,
                enroll_band=self._band.band_score(centroid),
                probe_band=self._band.band_score(probe),
            )
        )
        return Score(calibrated=sigmoid(normalised), raw=raw)

    def decide(self, score: Score) -> Decision:
        """Accept above one half (unused)."""
        return Decision.ACCEPT if score.calibrated >= 0.5 else Decision.REJECT

    def early_decision(self, score: Score, *, speech_seconds: float) -> Decision | None:
        """Never: the loop runs to the end so every check is recorded."""
        del score, speech_seconds
        return None

    def take(self) -> list[Point]:
        """The points recorded since the last call, by increasing speech, without repeats."""
        points = sorted({p.speech_s: p for p in self._points}.values())
        self._points.clear()
        return points


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedTrial:
    """One calibration trial: the normalised score at each check of the loop.

    Args:
        condition: Which condition it came from: ``enrol/test`` channels, optionally after a
            corpus name (``clean/phone``, ``fsdd:phone/phone``).
        genuine: Same speaker.
        points: One per check, by increasing speech.
    """

    condition: str
    genuine: bool
    points: tuple[Point, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FittedPolicy:
    """What :func:`fit_parameters` found.

    Args:
        calibration: The map, shifted so that ``threshold`` is the operating point.
        band_centre: Band score at phone-likeness one half.
        band_width: Band-score scale of the phone-likeness logistic.
        accept_margin: Log-odds above the threshold for an early accept.
        reject_margin: Log-odds below the threshold for an early reject.
        operating_log_odds: The unshifted log-odds of the operating point.
        summary: Per-condition replay results on the fitting data (for the record).
    """

    calibration: Calibration
    band_centre: float
    band_width: float
    accept_margin: float
    reject_margin: float
    operating_log_odds: float
    summary: dict[str, dict[str, float]] = field(default_factory=dict)


def _mismatch(point: Point, band: tuple[float, float]) -> float:
    centre, width = band
    enroll = sigmoid((point.enroll_band - centre) / width)
    probe = sigmoid((point.probe_band - centre) / width)
    return abs(enroll - probe)


def _odds(point: Point, calibration: Calibration, band: tuple[float, float]) -> float:
    return calibration.log_odds(
        point.normalised, speech_seconds=point.speech_s, mismatch=_mismatch(point, band)
    )


def replay(
    trials: Sequence[RecordedTrial],
    calibration: Calibration,
    *,
    band: tuple[float, float],
    point: float,
    accept_margin: float,
    reject_margin: float,
    target_speech_s: float,
) -> list[tuple[RecordedTrial, Decision, float]]:
    """The decision and speech used per trial, replaying the early-decision loop."""
    out: list[tuple[RecordedTrial, Decision, float]] = []
    for trial in trials:
        decision, used = Decision.REJECT, 0.0
        for index, check in enumerate(trial.points):
            odds = _odds(check, calibration, band)
            used = check.speech_s
            if index == len(trial.points) - 1 or check.speech_s >= target_speech_s:
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
    band: tuple[float, float],
    point: float,
    target_speech_s: float,
    candidates: Sequence[float] = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0),
    safety: float = 1.0,
) -> tuple[float, float]:
    """Early-decision margins: the smallest that add no error on the fitting data, plus ``safety``.

    Each side is chosen on its own: the smallest accept margin whose early accepts add no false
    accept over the decision on the whole capture, and likewise for rejects. ``safety`` log-odds
    are then added to each, because "no added error" on a few thousand fitting trials is a
    noisy criterion and a too-early decision costs more than a second of listening.
    """
    full = replay(
        trials,
        calibration,
        band=band,
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
            band=band,
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
            band=band,
            point=point,
            accept_margin=math.inf,
            reject_margin=margin,
            target_speech_s=target_speech_s,
        )
        if _errors(run)[0] <= base[0]:
            reject = margin
            break
    return accept + safety, reject + safety


def _place_point(
    trials: Sequence[RecordedTrial],
    calibration: Calibration,
    *,
    band: tuple[float, float],
    target_speech_s: float,
) -> float:
    """The operating point: the middle of the band that keeps every condition within target.

    Candidates are scanned; each is scored by its worst condition's ``max(FRR / 3 %,
    FAR / 0.5 %)`` on whole captures. The safe band is every candidate scoring at most 1 (each
    condition within 3 % false rejects and 0.5 % false accepts), and its middle is taken, so
    that the point is as far as it can be from both edges: new voices and channels move scores
    by amounts the calibration speakers cannot show. Where no candidate meets the targets, the
    middle of the best-scoring run is taken instead.
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
            final = t.points[-1]
            for check in t.points:
                if check.speech_s >= target_speech_s:
                    final = check
                    break
            odds = _odds(final, calibration, band)
            (tar if t.genuine else non).append(odds)
        finals[name] = (np.array(tar), np.array(non))
    worst = np.zeros(grid.size)
    for genuine, impostor in finals.values():
        if genuine.size == 0 or impostor.size == 0:
            continue
        frr = (genuine[None, :] < grid[:, None]).mean(axis=1)
        far = (impostor[None, :] >= grid[:, None]).mean(axis=1)
        worst = np.maximum(worst, np.maximum(frr / 0.03, far / 0.005))
    return middle_of_safe_band(grid, worst)


def middle_of_safe_band(grid: np.ndarray, worst: np.ndarray) -> float:
    """The middle of the longest run of ``grid`` points whose ``worst`` is at most 1.

    ``worst`` is each point's largest error over its target (1: exactly on a target). Where no
    point meets the targets, the longest run of the best-scoring points stands in.
    """
    good = worst <= 1.0
    if not good.any():
        good = worst <= worst.min() + 1e-12
    best_start, best_length, start = 0, 0, None
    for index, ok in enumerate([*good.tolist(), False]):
        if ok and start is None:
            start = index
        elif not ok and start is not None:
            if index - start > best_length:
                best_start, best_length = start, index - start
            start = None
    return float((grid[best_start] + grid[best_start + best_length - 1]) / 2)


def _band_scale(trials: Sequence[RecordedTrial]) -> tuple[float, float]:
    """Centre and width of phone-likeness from band scores of sides whose channel is known.

    The centre is half way between the median band scores of wide-band and phone-band sides;
    the width puts each median six units of log-odds from it.
    """
    wide: list[float] = []
    phone: list[float] = []
    for trial in trials:
        enroll_channel, test_channel = trial.condition.split(":")[-1].split("/")
        for check in trial.points:
            (phone if enroll_channel == "phone" else wide).append(check.enroll_band)
            (phone if test_channel == "phone" else wide).append(check.probe_band)
    if not wide or not phone:
        raise InvalidInputError("fitting needs both wide-band and phone-band sides")
    low, high = float(np.median(wide)), float(np.median(phone))
    if high <= low:
        raise InvalidInputError("phone-band and wide-band embeddings are not told apart")
    return (low + high) / 2, (high - low) / 12


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
        InvalidInputError: No genuine or no impostor trials, or only one channel.
    """
    if not trials:
        raise InvalidInputError("no calibration trials")
    band = _band_scale(trials)
    scores, seconds, mismatch, labels = [], [], [], []
    for trial in trials:
        for check in trial.points:
            scores.append(check.normalised)
            seconds.append(check.speech_s)
            mismatch.append(_mismatch(check, band))
            labels.append(1 if trial.genuine else 0)
    fitted = fit_calibration(
        scores,
        seconds,
        labels,
        mismatch=mismatch,
        min_speech_s=min_speech_s,
        max_speech_s=max_speech_s,
    )
    point = _place_point(trials, fitted, band=band, target_speech_s=target_speech_s)
    shifted = replace(fitted, bias=fitted.bias + logit(threshold) - point)
    at = logit(threshold)
    accept, reject = choose_margins(
        trials, shifted, band=band, point=at, target_speech_s=target_speech_s
    )
    summary: dict[str, dict[str, float]] = {}
    for name in sorted({t.condition for t in trials}):
        own = [t for t in trials if t.condition == name]
        run = replay(
            own,
            shifted,
            band=band,
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
        band_centre=band[0],
        band_width=band[1],
        accept_margin=accept,
        reject_margin=reject,
        operating_log_odds=point,
        summary=summary,
    )
