"""Back-ends compared leave-one-family-out: each fitted without the family it is judged on.

For each variant of ``backend_fit.VARIANTS`` and each fold of ``splits.folds``: the back-end, its
1-D calibration and its operating point (at most 5 % of the genuine fit calls of every channel
sent to step-up) are fitted on the fold's fit side alone, then measured on its evaluation side:
the evaluation speakers' bona fide clips and the held-out family's evaluation half. Nothing of
the evaluation side, and nothing of the held-out family, fits anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from voiceauth_adapters.antispoof.backend import SpoofBackend
from voiceauth_adapters.evaluation.spoof_eval.backend_fit import (
    VARIANTS,
    Featured,
    FittedBackend,
    fit_backend,
)
from voiceauth_adapters.evaluation.spoof_eval.operating import Targets
from voiceauth_adapters.evaluation.spoof_eval.report import (
    Configured,
    _calibration_json,
    _chosen_json,
    _eer,
    _gate_json,
    _measured,
    _outcome_lines,
    _side,
    fit_fold,
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

__all__ = [
    "backend_comparison",
    "backend_lines",
    "backend_part_lines",
    "fit_shipped_backend",
    "runtime_rescored",
    "shipped_backend_report",
]

_CHANNELS = ("clean", "g711", "mobile", "quiet", "loud", "noisy")


def _featured(fold_clips: Sequence[ScoredClip], by_path: Mapping[str, Featured]) -> list[Featured]:
    return [by_path[clip.path] for clip in fold_clips]


def _backend_json(backend: FittedBackend) -> dict[str, Any]:
    return {
        "variant": backend.variant,
        "l2": backend.l2,
        "inner_eer": {str(k): round(v, 4) for k, v in backend.inner_eer.items()},
        "shift": {k: round(v, 4) for k, v in backend.shift.items()},
        "spread": {k: round(v, 4) for k, v in backend.spread.items()},
    }


def _fold_run(
    fold: Fold, by_path: Mapping[str, Featured], variant: str, targets: Targets, detector_id: str
) -> dict[str, Any]:
    try:
        return _fitted_fold_run(fold, by_path, variant, targets, detector_id)
    except InvalidInputError as exc:  # no other family to fit on
        return {"held_out": fold.held_out, "not_fitted": exc.message}


def _fitted_fold_run(
    fold: Fold, by_path: Mapping[str, Featured], variant: str, targets: Targets, detector_id: str
) -> dict[str, Any]:
    fit_items = _featured(fold.fit, by_path)
    backend = fit_backend(fit_items, variant)
    fit = backend.rescored(fit_items)
    evaluation = backend.rescored(_featured(fold.evaluation, by_path))
    scored = Fold(held_out=fold.held_out, fit=tuple(fit), evaluation=tuple(evaluation))
    calibration, chosen = fit_fold(scored, detector_id=detector_id, targets=targets)
    genuine = [c for c in evaluation if c.label == BONAFIDE]
    spoofs = [c.raw for c in evaluation if c.label != BONAFIDE]
    return {
        "held_out": fold.held_out,
        "backend": _backend_json(backend),
        "eer": {
            "all_channels": _eer([c.raw for c in genuine], spoofs),
            "by_bonafide_channel": {
                channel: _eer([c.raw for c in genuine if c.channel == channel], spoofs)
                for channel in _CHANNELS
                if any(c.channel == channel for c in genuine)
            },
        },
        "calibration": _calibration_json(calibration),
        "operating_point": _chosen_json(chosen),
        "measured": _measured(evaluation, chosen.gate, calibration),
    }


def backend_comparison(
    items: Sequence[Featured],
    split: Split,
    *,
    detector_id: str,
    variants: Sequence[str] = tuple(VARIANTS),
    targets: Targets | None = None,
) -> dict[str, Any]:
    """Every variant, every leave-one-family-out fold: fitted on the fit side, measured on the
    evaluation side (see the module's docstring)."""
    aims = targets or Targets()
    by_path = {item.clip.path: item for item in items}
    held_out, _ = folds([item.clip for item in items], split)
    found: dict[str, Any] = {}
    for variant in variants:
        runs = [_fold_run(fold, by_path, variant, aims, detector_id) for fold in held_out]
        found[variant] = {"folds": runs, "summary": _summary(runs)}
    return found


def _summary(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per held-out family: its EER, its attempts ending accept, and the genuine step-up shares
    of that fold (worst channel); their means."""
    rows = {}
    for run in runs:
        family = run["held_out"]
        if "measured" not in run:
            continue
        spoof = run["measured"]["spoof_attempts"].get(family, {})
        genuine = run["measured"]["genuine_calls"]
        channels = {k: v["step_up"] for k, v in genuine.items() if not k.startswith("(")}
        rows[family] = {
            "eer": run["eer"]["all_channels"]["eer"],
            "accept": spoof.get("accept"),
            "attempts": spoof.get("trials"),
            "genuine_step_up": genuine.get("(all)", {}).get("step_up"),
            "genuine_step_up_worst_channel": max(channels.values()) if channels else None,
            "genuine_step_up_by_channel": channels,
            "fit_worst_channel_step_up": run["operating_point"]["fit_genuine_step_up"],
        }
    accepts = [row["accept"] for row in rows.values() if row["accept"] is not None]
    return {
        "by_family": rows,
        "mean_accept": round(float(np.mean(accepts)), 4) if accepts else None,
        "mean_eer": round(float(np.mean([row["eer"] for row in rows.values()])), 4)
        if rows
        else None,
        "worst_genuine_step_up": max(
            (row["genuine_step_up_worst_channel"] or 0.0 for row in rows.values()), default=None
        ),
    }


def fit_shipped_backend(
    items: Sequence[Featured], split: Split, variant: str
) -> tuple[FittedBackend, Fold]:
    """``variant`` fitted on the whole fit side (every family's fit half), as it ships, and the
    all-families fold re-scored by it."""
    by_path = {item.clip.path: item for item in items}
    _, everything = folds([item.clip for item in items], split)
    fit_items = _featured(everything.fit, by_path)
    backend = fit_backend(fit_items, variant)
    scored = Fold(
        held_out=None,
        fit=tuple(backend.rescored(fit_items)),
        evaluation=tuple(backend.rescored(_featured(everything.evaluation, by_path))),
    )
    return backend, scored


def _percent(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def backend_lines(comparison: Mapping[str, Any]) -> list[str]:
    """One table per variant: per unseen family, EER, accept share, genuine step-up."""
    lines = [
        (
            "Back-ends, leave-one-family-out (EER | spoof attempts ending accept | genuine "
            "step-up, all / worst channel):"
        )
    ]
    for variant, found in comparison.items():
        summary = found["summary"]
        lines.append(
            f"  {variant}: mean accept {_percent(summary['mean_accept']).strip()}, mean EER "
            f"{_percent(summary['mean_eer']).strip()}, worst genuine step-up "
            f"{_percent(summary['worst_genuine_step_up']).strip()}"
        )
        for family, row in summary["by_family"].items():
            lines.append(
                f"    {family:<10} {_percent(row['eer'])} {_percent(row['accept'])} "
                f"({row['attempts']})  {_percent(row['genuine_step_up'])} / "
                f"{_percent(row['genuine_step_up_worst_channel'])}"
            )
    return lines


def runtime_rescored(backend: SpoofBackend, items: Sequence[Featured]) -> list[ScoredClip]:
    """The clips scored as the detector scores them with ``backend``: its mean raw score and
    the distance of its mean hidden representation (the mean of a call's window scores)."""
    return [
        replace(
            item.clip,
            raw=backend.scores(
                [item.clip.raw],
                [item.hidden.astype(np.float32)],
                line=backend.line(item.log_high_band),
            )[0],
        )
        for item in items
    ]


def shipped_backend_report(
    items: Sequence[Featured],
    split: Split,
    *,
    variant: str,
    name: str,
    detector_id: str,
    targets: Targets | None = None,
    configured: tuple[SpoofBackend, Configured] | None = None,
) -> tuple[dict[str, Any], SpoofBackend, SpoofCalibration, SpoofGate]:
    """``variant`` as it would ship: leave-one-family-out first (each fold's back-end,
    calibration and operating point fitted without the family), then fitted on the whole fit
    side and measured on the evaluation side (families seen, speakers and texts not), and the
    configured back-end, calibration and thresholds measured there too.

    Raises:
        InvalidInputError: The variant cannot run in the detector, or a side lacks a class.
    """
    aims = targets or Targets()
    by_path = {item.clip.path: item for item in items}
    held_out, everything = folds([item.clip for item in items], split)
    runs = [_fold_run(fold, by_path, variant, aims, detector_id) for fold in held_out]
    fitted, _ = fit_shipped_backend(items, split, variant)
    runtime = fitted.runtime(name=name, detector_id=detector_id)
    fit = runtime_rescored(runtime, _featured(everything.fit, by_path))
    evaluation_items = _featured(everything.evaluation, by_path)
    evaluation = runtime_rescored(runtime, evaluation_items)
    scored = Fold(held_out=None, fit=tuple(fit), evaluation=tuple(evaluation))
    calibration, chosen = fit_fold(scored, detector_id=runtime.scored_id, targets=aims)
    report: dict[str, Any] = {
        "variant": variant,
        "name": runtime.scored_id,
        "leave_one_family_out": {"folds": runs, "summary": _summary(runs)},
        "shipped": {
            "fit": _side(everything.fit),
            "evaluation": _side(everything.evaluation),
            "backend": _backend_json(fitted),
            "calibration": _calibration_json(calibration),
            "operating_point": _chosen_json(chosen),
            "measured": _measured(evaluation, chosen.gate, calibration),
        },
        "configured": None,
    }
    if configured is not None:
        backend, setting = configured
        heard = runtime_rescored(backend, evaluation_items)
        report["configured"] = {
            "backend": backend.scored_id,
            "calibration_source": setting.source,
            "calibration": _calibration_json(setting.calibration),
            "gate": _gate_json(setting.gate),
            "measured": _measured(heard, setting.gate, setting.calibration),
        }
    return report, runtime, calibration, chosen.gate


def backend_part_lines(part: Mapping[str, Any]) -> list[str]:
    """The shipped back-end's tables: unseen families, then its outcomes on the evaluation
    side, as fitted and as configured; every variant when they were compared."""
    lines = backend_lines({f"back-end {part['name']}": part["leave_one_family_out"]})
    shipped = part["shipped"]
    point = shipped["operating_point"]
    lines.append(
        f"Back-end fitted on the whole fit side: step-up p>={point['step_up_probability']} "
        f"(score {point['step_up_raw']}), margin {point['baseline_margin']}, elevated "
        f"p>={point['elevated_probability']}, refuse p>={point['refuse_enroll_probability']}; "
        "on the evaluation side:"
    )
    lines.extend(_outcome_lines(shipped["measured"]))
    configured = part.get("configured")
    if configured:
        gate = configured["gate"]
        lines.append(
            f"Configured ({configured['backend']}, {configured['calibration_source']}): step-up "
            f"p>={gate['step_up_probability']}, margin {gate['baseline_margin']}, refuse "
            f"p>={gate['refuse_enroll_probability']}:"
        )
        lines.extend(_outcome_lines(configured["measured"]))
    if part.get("comparison"):
        lines.extend(backend_lines(part["comparison"]))
    return lines
