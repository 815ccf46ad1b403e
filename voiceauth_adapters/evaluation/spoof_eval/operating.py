"""Operating points: trials as the service meets them, the thresholds chosen, their outcomes.

A genuine call is a bona fide clip heard against its speaker's enrolment baseline: the mean raw
score of that speaker's *other* clips (other texts) through the G.711 line, as ``Enroll`` keeps
it. A spoof attempt is a spoofed clip that (worst case) already matched the voice it imitates,
judged against that person's baseline: a replay against the person replayed, a synthetic clip
against every person of the same side. The service turns such an accept into ``step_up`` when
:class:`~voiceauth_core.spoof_gate.SpoofGate` says the risk is high; any other attempt ends
``accept``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.evaluation.spoof_eval.splits import BONAFIDE, ScoredClip
from voiceauth_core.attempt import SpoofRisk
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.spoof_gate import SpoofGate
from voiceauth_core.spoofing import SpoofCalibration

__all__ = [
    "BASELINE_CHANNEL",
    "Attempt",
    "Chosen",
    "Targets",
    "baselines",
    "choose",
    "genuine_calls",
    "outcomes",
    "spoof_attempts",
]

#: Where ``Enroll`` hears a sample for its baseline: through the telephone line.
BASELINE_CHANNEL = "g711"
#: The margins tried, on the raw scale (0 to 12 in quarters).
_MARGINS = tuple(step / 4 for step in range(49))
#: The raw thresholds tried: every 0.05 from -20 to 30 (AASIST's scores stay well inside).
_THRESHOLDS = np.round(np.arange(-20.0, 30.0001, 0.05), 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One decision the spoof gate would take.

    Args:
        clip: What was heard.
        baseline: The enrolment's baseline it is judged against (None: none kept).
        group: What to count it under: the channel for genuine calls, the family for spoofs.
    """

    clip: ScoredClip
    baseline: float | None
    group: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Targets:
    """What the operating point is chosen for.

    Args:
        step_up_share: Genuine calls sent to step-up, at most, in every channel (fit data): a
            caller on a mobile line must not pay for callers on clean lines.
        refuse_share: Genuine enrolment samples refused, at most (fit data, channels pooled).
            Zero by default: refusing someone's real voice at enrolment has no second chance
            (the evaluation side still found two genuine clips above every fit one).
    """

    step_up_share: float = 0.05
    refuse_share: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Chosen:
    """An operating point with the raw thresholds behind its probabilities.

    Args:
        gate: The thresholds as the service takes them (probabilities rounded for settings).
        step_up_raw: The raw score the step-up probability stands for.
        elevated_raw: The raw score the elevated probability stands for.
        refuse_raw: The raw score the refusal probability stands for.
        fit_step_up_share: Genuine fit calls it sends to step-up (the worst channel).
        fit_catch_share: Spoof fit attempts it sends to step-up (mean over families).
        fit_refuse_share: Genuine fit clips it refuses at enrolment.
    """

    gate: SpoofGate
    step_up_raw: float
    elevated_raw: float
    refuse_raw: float
    fit_step_up_share: float
    fit_catch_share: float
    fit_refuse_share: float


def baselines(clips: Iterable[ScoredClip]) -> dict[str, list[tuple[str, float]]]:
    """Each bona fide speaker's ``(text, raw)`` through :data:`BASELINE_CHANNEL`."""
    found: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for clip in clips:
        if clip.label == BONAFIDE and clip.channel == BASELINE_CHANNEL:
            found[clip.speaker].append((clip.text_id, clip.raw))
    return found


def _baseline(enrolled: Sequence[tuple[str, float]], *, without: str | None) -> float | None:
    """The mean raw score of the samples that do not say ``without`` (None: none left)."""
    kept = [raw for text, raw in enrolled if text != without]
    return math.fsum(kept) / len(kept) if kept else None


def genuine_calls(clips: Sequence[ScoredClip]) -> list[Attempt]:
    """Every bona fide clip against its speaker's baseline from their other texts."""
    enrolled = baselines(clips)
    return [
        Attempt(
            clip=clip,
            baseline=_baseline(enrolled.get(clip.speaker, ()), without=clip.text_id),
            group=clip.channel,
        )
        for clip in clips
        if clip.label == BONAFIDE
    ]


def spoof_attempts(clips: Sequence[ScoredClip]) -> list[Attempt]:
    """Every spoofed clip against the baseline of each person it could be passed off as: a
    replay against the person replayed (their other texts), synthetic speech against every
    bona fide speaker among ``clips`` that has a baseline."""
    enrolled = baselines(clips)
    attempts = []
    for clip in clips:
        if clip.label == BONAFIDE:
            continue
        person = clip.person
        if person is not None:
            attempts.append(
                Attempt(
                    clip=clip,
                    baseline=_baseline(enrolled.get(person, ()), without=clip.text_id),
                    group=clip.family,
                )
            )
            continue
        attempts.extend(
            Attempt(clip=clip, baseline=_baseline(samples, without=None), group=clip.family)
            for samples in enrolled.values()
        )
    return attempts


def _arrays(
    attempts: Sequence[Attempt],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    raw = np.array([a.clip.raw for a in attempts], dtype=np.float64)
    # No baseline: the gate uses the probability alone, as if the baseline were -inf.
    base = np.array(
        [-np.inf if a.baseline is None else a.baseline for a in attempts], dtype=np.float64
    )
    return raw, base


def _flagged_share(
    raw: npt.NDArray[np.float64], passes: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """For every threshold of the grid: the share of trials at or above it that pass the margin."""
    if raw.size == 0:
        return np.zeros(_THRESHOLDS.size)
    kept = np.sort(raw[passes])
    above = kept.size - np.searchsorted(kept, _THRESHOLDS, side="left")
    return np.asarray(above / raw.size, dtype=np.float64)


def _round_probability(calibration: SpoofCalibration, raw: float) -> float:
    """The probability of ``raw``, rounded to four decimals but never to 0 or 1."""
    return min(0.9999, max(0.0001, round(calibration.probability(raw), 4)))


def _grouped(attempts: Iterable[Attempt]) -> list[tuple[npt.NDArray[np.float64], ...]]:
    by_group: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        by_group[attempt.group].append(attempt)
    return [_arrays(items) for _, items in sorted(by_group.items())]


def _mean_share(
    groups: Sequence[tuple[npt.NDArray[np.float64], ...]], margin: float
) -> npt.NDArray[np.float64]:
    """Per grid threshold: the share flagged, averaged over ``groups``."""
    shares = [_flagged_share(raw, raw - base >= margin) for raw, base in groups]
    return np.asarray(np.mean(shares, axis=0), dtype=np.float64)


def _worst_share(
    groups: Sequence[tuple[npt.NDArray[np.float64], ...]], margin: float
) -> npt.NDArray[np.float64]:
    """Per grid threshold: the share flagged in the group where it is largest."""
    shares = [_flagged_share(raw, raw - base >= margin) for raw, base in groups]
    return np.asarray(np.max(shares, axis=0), dtype=np.float64)


def choose(
    fit: Sequence[ScoredClip],
    calibration: SpoofCalibration,
    targets: Targets | None = None,
) -> Chosen:
    """The operating point chosen on ``fit`` (every threshold from fit data only).

    * step-up threshold and baseline margin: of all pairs on a grid that send at most
      ``targets.step_up_share`` of the genuine calls of every channel to step-up, the one that
      catches most spoof attempts (each family weighing the same); ties go to fewer genuine
      step-ups, then the higher threshold;
    * elevated: where the calibrated probability reaches one half (a spoof as likely as not,
      the classes weighing the same), but no higher than the step-up threshold;
    * enrolment refusal: the lowest threshold refusing at most ``targets.refuse_share`` of the
      genuine clips as recorded (all channels), and no lower than the step-up threshold.

    Raises:
        InvalidInputError: ``fit`` lacks genuine calls or spoof attempts.
    """
    aims = targets or Targets()
    genuine = _grouped(genuine_calls(fit))
    spoofs = _grouped(spoof_attempts(fit))
    if not genuine or not spoofs:
        raise InvalidInputError("choosing an operating point needs genuine and spoofed clips")
    best: tuple[float, float, float, float] | None = None  # (catch, -share, raw, margin)
    for margin in _MARGINS:
        share = _worst_share(genuine, margin)
        catch = _mean_share(spoofs, margin)
        for index in np.flatnonzero(share <= aims.step_up_share):
            key = (float(catch[index]), -float(share[index]), float(_THRESHOLDS[index]), margin)
            if best is None or key > best:
                best = key
    if best is None:  # unreachable: the top of the grid flags nothing
        raise InvalidInputError("no operating point meets the genuine step-up target")
    catch_share, minus_share, step_up_raw, margin = best
    genuine_raw = np.array([clip.raw for clip in fit if clip.label == BONAFIDE])
    elevated_raw = min(-calibration.offset / calibration.scale, step_up_raw)
    refuse_raw = max(_lowest_threshold(genuine_raw, aims.refuse_share), step_up_raw)
    gate = SpoofGate(
        step_up_probability=_round_probability(calibration, step_up_raw),
        elevated_probability=_round_probability(calibration, elevated_raw),
        baseline_margin=margin,
        refuse_enroll_probability=_round_probability(calibration, refuse_raw),
    )
    refused = [calibration.probability(r) >= gate.refuse_enroll_probability for r in genuine_raw]
    return Chosen(
        gate=gate,
        step_up_raw=step_up_raw,
        elevated_raw=elevated_raw,
        refuse_raw=refuse_raw,
        fit_step_up_share=-minus_share,
        fit_catch_share=catch_share,
        fit_refuse_share=float(np.mean(refused)),
    )


def _lowest_threshold(raw: npt.NDArray[np.float64], share: float) -> float:
    """The lowest grid threshold with at most ``share`` of ``raw`` at or above it."""
    above = _flagged_share(raw, np.ones(raw.size, dtype=bool))
    return float(_THRESHOLDS[int(np.argmax(above <= share))])


def outcomes(
    attempts: Sequence[Attempt], gate: SpoofGate, calibration: SpoofCalibration
) -> dict[str, dict[str, float | int]]:
    """The shares the service would send to ``step_up`` (risk high; the rest end ``accept``)
    and flag as elevated or high, as ``SpoofGate`` decides them: per group (in the order first
    met), pooled (``(all)``) and averaged over the groups, each weighing the same (``(mean)``).
    """
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for attempt in attempts:
        risk = gate.risk(
            probability=calibration.probability(attempt.clip.raw),
            raw=attempt.clip.raw,
            baseline=attempt.baseline,
        )
        for key in (attempt.group, "(all)"):
            counts[key][0] += 1
            counts[key][1] += risk is SpoofRisk.HIGH
            counts[key][2] += risk is not SpoofRisk.LOW
    found: dict[str, dict[str, float | int]] = {
        group: {
            "trials": total,
            "step_up": round(high / total, 4),
            "accept": round(1 - high / total, 4),
            "elevated_or_high": round(raised / total, 4),
        }
        for group, (total, high, raised) in counts.items()
        if group != "(all)"
    }
    if found:
        pooled = counts["(all)"]
        found["(all)"] = {
            "trials": pooled[0],
            "step_up": round(pooled[1] / pooled[0], 4),
            "accept": round(1 - pooled[1] / pooled[0], 4),
            "elevated_or_high": round(pooled[2] / pooled[0], 4),
        }
        groups = [row for key, row in found.items() if key != "(all)"]
        step_up = float(np.mean([row["step_up"] for row in groups]))
        found["(mean)"] = {
            "trials": pooled[0],
            "step_up": round(step_up, 4),
            "accept": round(1 - step_up, 4),
            "elevated_or_high": round(float(np.mean([r["elevated_or_high"] for r in groups])), 4),
        }
    return found
