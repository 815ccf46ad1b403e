"""The evaluation report: error rates with counts, speech used, a JSON file and a PNG figure."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceauth_adapters.evaluation.runner import TrialResult
from voiceauth_core.attempt import Decision
from voiceauth_core.metrics import det_curve, equal_error_rate, error_counts, min_dcf

__all__ = ["summarise", "write_json", "write_plot"]


def _rates(genuine: Sequence[float], impostor: Sequence[float], threshold: float) -> dict[str, Any]:
    counts = error_counts(genuine, impostor, threshold)
    return {
        "threshold": threshold,
        "frr": counts.frr,
        "far": counts.far,
        "false_rejects": counts.false_rejects,
        "genuine": counts.genuine,
        "false_accepts": counts.false_accepts,
        "impostor": counts.impostor,
    }


def _curve_summary(genuine: Sequence[float], impostor: Sequence[float]) -> dict[str, Any]:
    eer, eer_threshold = equal_error_rate(genuine, impostor)
    dcf, dcf_threshold = min_dcf(genuine, impostor, p_target=0.01)
    return {
        "eer": eer,
        "eer_threshold": eer_threshold,
        "min_dcf": dcf,
        "min_dcf_p_target": 0.01,
        "min_dcf_threshold": dcf_threshold,
    }


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _decisions(results: Sequence[TrialResult], *, genuine: bool) -> dict[str, int]:
    tally = {decision.value: 0 for decision in Decision}
    for result in results:
        if result.genuine == genuine:
            tally[result.decision.value] += 1
    return {name: count for name, count in tally.items() if count}


def summarise(results: Sequence[TrialResult], *, threshold: float) -> dict[str, Any]:
    """Metrics of a run.

    ``full_length``: scores of whole tests (EER and minDCF of the calibrated score and of the
    raw cosine; error counts at ``threshold``). ``service``: the decisions the service took with
    early decisions, where a genuine trial that ended without ``ACCEPT`` (rejected, not enough
    speech, error) is a false reject and an impostor trial that ended in ``ACCEPT`` a false
    accept; and the net speech each decision used.
    """
    scored = [r for r in results if r.full_score is not None and r.full_raw is not None]
    tar = [r.full_score for r in scored if r.genuine and r.full_score is not None]
    non = [r.full_score for r in scored if not r.genuine and r.full_score is not None]
    tar_raw = [r.full_raw for r in scored if r.genuine and r.full_raw is not None]
    non_raw = [r.full_raw for r in scored if not r.genuine and r.full_raw is not None]
    summary: dict[str, Any] = {
        "trials": len(results),
        "unscored_full_length": len(results) - len(scored),
    }
    if tar and non:
        summary["full_length"] = {
            "calibrated": {**_curve_summary(tar, non), "at_threshold": _rates(tar, non, threshold)},
            "raw_cosine": {
                **_curve_summary(tar_raw, non_raw),
                "at_threshold": _rates(tar_raw, non_raw, threshold),
            },
        }
    genuine = [r for r in results if r.genuine]
    impostor = [r for r in results if not r.genuine]
    false_rejects = sum(1 for r in genuine if r.decision is not Decision.ACCEPT)
    false_accepts = sum(1 for r in impostor if r.decision is Decision.ACCEPT)
    decided = [r for r in results if r.decision in (Decision.ACCEPT, Decision.REJECT)]
    summary["service"] = {
        "threshold": threshold,
        "frr": false_rejects / len(genuine) if genuine else None,
        "far": false_accepts / len(impostor) if impostor else None,
        "false_rejects": false_rejects,
        "genuine": len(genuine),
        "false_accepts": false_accepts,
        "impostor": len(impostor),
        "decisions_genuine": _decisions(results, genuine=True),
        "decisions_impostor": _decisions(results, genuine=False),
        "speech_s_median": _median([r.speech_s for r in decided]),
        "speech_s_median_genuine": _median([r.speech_s for r in decided if r.genuine]),
        "speech_s_median_impostor": _median([r.speech_s for r in decided if not r.genuine]),
        "speech_s_p90": (
            float(np.percentile([r.speech_s for r in decided], 90)) if decided else None
        ),
        "early_decisions": sum(1 for r in decided if r.speech_s < r.full_speech_s - 1e-6),
        "full_speech_s_median": _median([r.full_speech_s for r in results]),
    }
    return summary


def write_json(report: dict[str, Any], path: Path) -> None:
    """Write the report as indented JSON (the parent folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")


# DET axes span 0.05 % .. 50 %; rates beyond are drawn on the edge so a perfect curve still shows.
_DET_LOW, _DET_HIGH = 0.0005, 0.5


def _probit(values: np.ndarray) -> np.ndarray:
    dist = statistics.NormalDist()
    clipped = np.clip(values, _DET_LOW, 1 - 1e-5)
    return np.array([dist.inv_cdf(float(v)) for v in clipped])


def _split(results: Sequence[TrialResult], *, raw: bool) -> tuple[list[float], list[float]]:
    """Whole-test scores (calibrated or raw) of genuine and of impostor trials."""
    tar: list[float] = []
    non: list[float] = []
    for r in results:
        value = r.full_raw if raw else r.full_score
        if value is not None:
            (tar if r.genuine else non).append(value)
    return tar, non


def write_plot(results: Sequence[TrialResult], *, threshold: float, title: str, path: Path) -> None:
    """A PNG: histograms of calibrated and raw whole-test scores (threshold drawn), DET curves."""
    import matplotlib  # noqa: PLC0415  # the evaluation extra, only when a plot is asked for

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    scored = [r for r in results if r.full_score is not None and r.full_raw is not None]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for axis, name, (tar, non) in (
        (axes[0], "calibrated score", _split(scored, raw=False)),
        (axes[1], "raw cosine", _split(scored, raw=True)),
    ):
        bins = np.linspace(min(tar + non), max(tar + non), 60)
        axis.hist(non, bins=bins, alpha=0.6, density=True, label=f"impostor ({len(non)})")
        axis.hist(tar, bins=bins, alpha=0.6, density=True, label=f"genuine ({len(tar)})")
        axis.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:g}")
        axis.set_xlabel(name)
        axis.set_ylabel("density")
        axis.legend(loc="upper left", fontsize=8)
    ticks = np.array([0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4])
    det = axes[2]
    diagonal = _probit(np.array([_DET_LOW, _DET_HIGH]))
    det.plot(diagonal, diagonal, color="grey", linewidth=0.5, linestyle=":")
    for name, tar, non in (
        ("calibrated", *_split(scored, raw=False)),
        ("raw cosine", *_split(scored, raw=True)),
    ):
        curve = det_curve(tar, non)
        eer, _ = equal_error_rate(tar, non)
        det.plot(
            _probit(curve.false_alarm),
            _probit(curve.miss),
            label=f"{name} (EER {100 * eer:.2f} %)",
        )
    det.set_xticks(_probit(ticks), [f"{100 * t:g}" for t in ticks])
    det.set_yticks(_probit(ticks), [f"{100 * t:g}" for t in ticks])
    margin = 0.05  # in probit units, so the edge-drawn parts stay visible
    det.set_xlim(diagonal[0] - margin, diagonal[1])
    det.set_ylim(diagonal[0] - margin, diagonal[1])
    det.set_xlabel("false accepts (%)")
    det.set_ylabel("false rejects (%)")
    det.grid(visible=True, alpha=0.3)
    det.legend(loc="upper right", fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
