"""The spoof evaluation's report: held-out error rates and outcomes, as JSON and as text lines.

Every figure is measured on the evaluation side only (speakers and synthetic texts that fitted
nothing). Leave-one-family-out folds give each family's figures as an attack never seen: its
calibration and operating point are fitted without it. The all-families fit is what ships; its
operating point is measured on the same evaluation side (families seen, speakers and texts not).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from voiceauth_adapters.evaluation.spoof_eval.fit import equal_error, fit_logistic, group_weights
from voiceauth_adapters.evaluation.spoof_eval.operating import (
    Chosen,
    Targets,
    choose,
    genuine_calls,
    outcomes,
    spoof_attempts,
)
from voiceauth_adapters.evaluation.spoof_eval.splits import (
    BONAFIDE,
    Fold,
    ScoredClip,
    Split,
    folds,
)
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.spoof_gate import SpoofGate
from voiceauth_core.spoofing import SpoofCalibration

__all__ = ["Configured", "fit_fold", "spoof_report", "summary_lines"]

_CHANNEL_ORDER = ("clean", "g711", "mobile", "quiet", "loud", "noisy")


@dataclass(frozen=True, slots=True, kw_only=True)
class Configured:
    """The service's calibration and thresholds as configured, to measure them too.

    Args:
        calibration: The calibration the detector would load.
        gate: The thresholds from the settings.
        source: Where the calibration came from (a path).
    """

    calibration: SpoofCalibration
    gate: SpoofGate
    source: str


def fit_fold(fold: Fold, *, detector_id: str, targets: Targets) -> tuple[SpoofCalibration, Chosen]:
    """The calibration and operating point fitted on ``fold.fit`` alone.

    Bona fide clips weigh half, shared equally by channels; spoofs the other half, shared
    equally by families (see :func:`group_weights`).

    Raises:
        InvalidInputError: The fit side lacks bona fide or spoofed clips.
    """
    labels = [0 if clip.label == BONAFIDE else 1 for clip in fold.fit]
    groups = [clip.channel if clip.label == BONAFIDE else clip.family for clip in fold.fit]
    calibration = fit_logistic(
        [clip.raw for clip in fold.fit],
        labels,
        group_weights(labels, groups),
        detector_id=detector_id,
    )
    return calibration, choose(fold.fit, calibration, targets)


def _eer(bonafide: Sequence[float], spoof: Sequence[float]) -> dict[str, Any] | None:
    if not bonafide or not spoof:
        return None
    found = equal_error(bonafide, spoof)
    return {
        "eer": round(found.rate, 4),
        "threshold_raw": round(found.threshold, 3),
        "bonafide": found.bonafide,
        "spoof": found.spoof,
    }


def _channels(clips: Sequence[ScoredClip]) -> list[str]:
    present = {clip.channel for clip in clips}
    return [c for c in _CHANNEL_ORDER if c in present] + sorted(present - set(_CHANNEL_ORDER))


def _eer_tables(evaluation: Sequence[ScoredClip], held_out: Sequence[Fold]) -> dict[str, Any]:
    """EER per bona fide channel (against every evaluation spoof, and against spoofs heard
    through the same channel), and per unseen family (overall and per bona fide channel)."""
    genuine: dict[str, list[float]] = defaultdict(list)
    spoofs: dict[str, list[float]] = defaultdict(list)
    for clip in evaluation:
        (genuine if clip.label == BONAFIDE else spoofs)[clip.channel].append(clip.raw)
    every_spoof = [raw for values in spoofs.values() for raw in values]
    per_channel = {
        channel: {
            "vs_all_spoofs": _eer(genuine[channel], every_spoof),
            "vs_same_channel_spoofs": _eer(genuine[channel], spoofs.get(channel, [])),
        }
        for channel in _channels(evaluation)
        if genuine[channel]
    }
    per_family: dict[str, Any] = {}
    for fold in held_out:
        assert fold.held_out is not None
        family_raw = [c.raw for c in fold.evaluation if c.label != BONAFIDE]
        family_genuine = [c for c in fold.evaluation if c.label == BONAFIDE]
        per_family[fold.held_out] = {
            "all_channels": _eer([c.raw for c in family_genuine], family_raw),
            "by_bonafide_channel": {
                channel: _eer([c.raw for c in family_genuine if c.channel == channel], family_raw)
                for channel in _channels(family_genuine)
            },
        }
    return {
        "per_channel": per_channel,
        "per_unseen_family": per_family,
        "pooled": _eer(
            [c.raw for c in evaluation if c.label == BONAFIDE],
            [c.raw for c in evaluation if c.label != BONAFIDE],
        ),
    }


def _gate_json(gate: SpoofGate) -> dict[str, float]:
    return {
        "step_up_probability": gate.step_up_probability,
        "elevated_probability": gate.elevated_probability,
        "baseline_margin": gate.baseline_margin,
        "refuse_enroll_probability": gate.refuse_enroll_probability,
    }


def _calibration_json(calibration: SpoofCalibration) -> dict[str, Any]:
    return {
        "detector_id": calibration.detector_id,
        "scale": round(calibration.scale, 6),
        "offset": round(calibration.offset, 6),
    }


def _refusals(
    clips: Sequence[ScoredClip], gate: SpoofGate, calibration: SpoofCalibration
) -> dict[str, Any]:
    """Enrolment samples refused as synthetic: genuine clips (by channel) and spoofed ones."""
    refused: dict[str, list[bool]] = defaultdict(list)
    for clip in clips:
        verdict = gate.refuses_enrollment(calibration.probability(clip.raw))
        key = clip.channel if clip.label == BONAFIDE else f"spoof:{clip.family}"
        refused[key].append(verdict)
        refused["bonafide" if clip.label == BONAFIDE else "spoof"].append(verdict)
    return {
        key: {
            "clips": len(values),
            "refused": int(sum(values)),
            "share": round(float(np.mean(values)), 4),
        }
        for key, values in sorted(refused.items())
    }


def _measured(
    evaluation: Sequence[ScoredClip], gate: SpoofGate, calibration: SpoofCalibration
) -> dict[str, Any]:
    """Genuine calls sent to step-up (by channel), spoof attempts ending accept (by family),
    and enrolment refusals, on ``evaluation`` at ``gate``."""
    genuine = genuine_calls(evaluation)
    spoofs = spoof_attempts(evaluation)
    return {
        "genuine_calls": outcomes(genuine, gate, calibration) if genuine else {},
        "genuine_without_baseline": sum(1 for call in genuine if call.baseline is None),
        "spoof_attempts": outcomes(spoofs, gate, calibration) if spoofs else {},
        "enrolment_refusals": _refusals(evaluation, gate, calibration),
    }


def _side(clips: Sequence[ScoredClip]) -> dict[str, Any]:
    spoofs: dict[str, int] = defaultdict(int)
    for clip in clips:
        if clip.label != BONAFIDE:
            spoofs[clip.family] += 1
    return {
        "bonafide_speakers": len({c.speaker for c in clips if c.label == BONAFIDE}),
        "bonafide_clips": sum(1 for c in clips if c.label == BONAFIDE),
        "spoof_families": sorted(spoofs),
        "spoof_clips": dict(sorted(spoofs.items())),
    }


def _chosen_json(chosen: Chosen) -> dict[str, Any]:
    return {
        **_gate_json(chosen.gate),
        "step_up_raw": chosen.step_up_raw,
        "elevated_raw": round(chosen.elevated_raw, 3),
        "refuse_raw": chosen.refuse_raw,
        "fit_genuine_step_up": round(chosen.fit_step_up_share, 4),
        "fit_spoof_caught": round(chosen.fit_catch_share, 4),
        "fit_genuine_refused": round(chosen.fit_refuse_share, 4),
    }


def spoof_report(
    clips: Sequence[ScoredClip],
    split: Split,
    *,
    detector_id: str,
    targets: Targets | None = None,
    configured: Configured | None = None,
) -> tuple[dict[str, Any], SpoofCalibration, SpoofGate]:
    """The report's figures, the calibration fitted on the whole fit side and its gate.

    Raises:
        InvalidInputError: The fit side lacks bona fide or spoofed clips.
    """
    aims = targets or Targets()
    held_out, everything = folds(clips, split)
    runs = []
    for fold in held_out:
        row: dict[str, Any] = {
            "held_out": fold.held_out,
            "fit": _side(fold.fit),
            "evaluation": _side(fold.evaluation),
        }
        try:
            calibration, chosen = fit_fold(fold, detector_id=detector_id, targets=aims)
        except InvalidInputError as exc:  # no other family to fit on
            row["not_fitted"] = exc.message
        else:
            measured = _measured(fold.evaluation, chosen.gate, calibration)
            row |= {
                "calibration": _calibration_json(calibration),
                "operating_point": _chosen_json(chosen),
                "measured": measured,
            }
        runs.append(row)
    calibration, chosen = fit_fold(everything, detector_id=detector_id, targets=aims)
    report: dict[str, Any] = {
        "split": {
            "rule": "bona fide speakers in seeded-hash halves per corpus; replays follow the "
            "speaker replayed; synthetic clips in halves by text; one spoof family held out",
            "fit_speakers": sorted(split.fit_speakers),
            "eval_speakers": sorted(split.eval_speakers),
            "fit_texts": sorted(split.fit_texts),
            "eval_texts": sorted(split.eval_texts),
        },
        "targets": {"genuine_step_up": aims.step_up_share, "genuine_refused": aims.refuse_share},
        "eer": _eer_tables(everything.evaluation, held_out),
        "leave_one_family_out": runs,
        "shipped": {
            "fit": _side(everything.fit),
            "evaluation": _side(everything.evaluation),
            "calibration": _calibration_json(calibration),
            "operating_point": _chosen_json(chosen),
            "measured": _measured(everything.evaluation, chosen.gate, calibration),
        },
        "configured": None
        if configured is None
        else {
            "calibration_source": configured.source,
            "calibration": _calibration_json(configured.calibration),
            "gate": _gate_json(configured.gate),
            "measured": _measured(everything.evaluation, configured.gate, configured.calibration),
        },
    }
    return report, calibration, chosen.gate


def _percent(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """The report in a few tables: EERs, then outcomes at the operating points."""
    eer = report["eer"]
    lines = ["EER, evaluation side (bona fide channel vs every spoof | vs same-channel spoofs):"]
    for channel, row in eer["per_channel"].items():
        every, same = row["vs_all_spoofs"], row["vs_same_channel_spoofs"]
        lines.append(
            f"  {channel:<7} {_percent(every and every['eer'])} "
            f"({every['bonafide'] if every else 0} vs {every['spoof'] if every else 0})   "
            f"{_percent(same and same['eer'])}"
            + (f" ({same['bonafide']} vs {same['spoof']})" if same else "")
        )
    lines.append("Unseen families (each fitted without it):")
    lines.append(
        f"  {'family':<10} {'EER':>6} {'trials':>11}  {'accept':>6} {'attempts':>8}  "
        f"{'genuine step-up':>15}"
    )
    for run in report["leave_one_family_out"]:
        family = run["held_out"]
        found = eer["per_unseen_family"].get(family, {}).get("all_channels")
        trials = f"{found['bonafide']}/{found['spoof']}" if found else "-"
        measured = run.get("measured")
        if measured is None:
            lines.append(
                f"  {family:<10} {_percent(found and found['eer'])} {trials:>11}  (not fitted)"
            )
            continue
        spoof = measured["spoof_attempts"].get(family, {})
        genuine = measured["genuine_calls"].get("(all)", {})
        lines.append(
            f"  {family:<10} {_percent(found and found['eer'])} {trials:>11}  "
            f"{_percent(spoof.get('accept'))} {spoof.get('trials', 0):>8}  "
            f"{_percent(genuine.get('step_up')):>15}"
        )
    shipped = report["shipped"]
    point = shipped["operating_point"]
    lines.append(
        f"Shipped fit: step-up p>={point['step_up_probability']} (raw {point['step_up_raw']}), "
        f"margin {point['baseline_margin']}, elevated p>={point['elevated_probability']}, "
        f"refuse p>={point['refuse_enroll_probability']}; on the evaluation side:"
    )
    lines.extend(_outcome_lines(shipped["measured"]))
    configured = report.get("configured")
    if configured:
        gate = configured["gate"]
        lines.append(
            f"Configured ({configured['calibration_source']}): step-up p>="
            f"{gate['step_up_probability']}, margin {gate['baseline_margin']}, refuse p>="
            f"{gate['refuse_enroll_probability']}:"
        )
        lines.extend(_outcome_lines(configured["measured"]))
    return lines


def _outcome_lines(measured: Mapping[str, Any]) -> list[str]:
    genuine = measured["genuine_calls"]
    spoofs = measured["spoof_attempts"]
    refusals = measured["enrolment_refusals"]
    steps = "  ".join(
        f"{group} {_percent(row['step_up']).strip()}" for group, row in genuine.items()
    )
    accepts = "  ".join(
        f"{group} {_percent(row['accept']).strip()}" for group, row in spoofs.items()
    )
    refused = refusals.get("bonafide", {})
    return [
        f"  genuine calls sent to step-up: {steps}",
        f"  spoof attempts ending accept (voice matched): {accepts}",
        (
            f"  genuine enrolment samples refused: {refused.get('refused', 0)}/"
            f"{refused.get('clips', 0)}"
        ),
    ]
