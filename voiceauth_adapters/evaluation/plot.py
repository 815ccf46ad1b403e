"""The evaluation figure: histograms of whole-test scores and DET curves, as a PNG."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voiceauth_adapters.evaluation.runner import Condition, TrialResult
from voiceauth_core.metrics import det_curve, equal_error_rate
from voiceauth_core.ports import ScoringPolicy

__all__ = ["plot_title", "write_plot"]


def plot_title(corpus_name: str, condition: Condition, policy: ScoringPolicy) -> str:
    """The figure's title: the corpus, the channels and cuts, the policy and its threshold."""
    return (
        f"{corpus_name}: enrol {condition.enroll_channel}, test {condition.test_channel}"
        f"{f', {condition.test_speech_s:g} s speech' if condition.test_speech_s else ''}"
        f"{'' if condition.phone_band else ', no phone-band voiceprint'} "
        f"({policy.name}, threshold {policy.threshold:g})"
    )


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
