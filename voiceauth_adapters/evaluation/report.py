"""The evaluation report: error rates with counts, speech used, as JSON and as summary lines.

The figure is drawn by ``voiceauth_adapters.evaluation.plot``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from voiceauth_adapters.evaluation.runner import Condition, TrialResult
from voiceauth_adapters.evaluation.trials import Segment
from voiceauth_core.attempt import Decision
from voiceauth_core.metrics import equal_error_rate, error_counts, min_dcf
from voiceauth_core.ports import ScoringPolicy
from voiceauth_core.quality import QualityGate
from voiceauth_core.use_cases import CapturePlan

__all__ = ["eval_report", "summarise", "summary_lines", "write_json"]


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


def _trial_row(result: TrialResult) -> dict[str, Any]:
    row = asdict(result)
    return {**row, "decision": result.decision.value, "full_decision": result.full_decision.value}


def eval_report(
    *,
    source: Mapping[str, Any],
    condition: Condition,
    policy: ScoringPolicy,
    model_id: str,
    backend: str,
    gate: QualityGate,
    plan: CapturePlan,
    enrollments: Sequence[Segment],
    tests: Sequence[Segment],
    failed_enrollments: Mapping[str, str],
    summary: Mapping[str, Any],
    embeddings_computed: int,
    seconds: float,
    results: Sequence[TrialResult] | None = None,
) -> dict[str, Any]:
    """The JSON report of an evaluation run.

    Args:
        source: What was measured (tool, corpus, pattern, speaker rule, protocol), first.
        condition: The channels and cuts.
        policy: The scoring policy and its threshold.
        model_id: The model's id.
        backend: The inference backend.
        gate: The quality gate (its speech minimums are reported).
        plan: The capture plan.
        enrollments: The enrolment segments.
        tests: The test segments.
        failed_enrollments: Segment key -> why its enrolment failed.
        summary: :func:`summarise` of the results.
        embeddings_computed: Embeddings the model computed (not taken from the cache).
        seconds: How long the trials took.
        results: Every trial's outcome, to include (None: left out).
    """
    speakers = {s.speaker for s in (*enrollments, *tests)}
    report: dict[str, Any] = {
        **source,
        "condition": asdict(condition),
        "policy": {"name": policy.name, "threshold": policy.threshold},
        "model_id": model_id,
        "backend": backend,
        "plan": asdict(plan),
        "min_enroll_speech_s": gate.min_enroll_speech_s,
        "min_verify_speech_s": gate.min_verify_speech_s,
        "counts": {
            "speakers": len(speakers),
            "enrollments": len(enrollments),
            "failed_enrollments": len(failed_enrollments),
            "tests": len(tests),
        },
        "failed_enrollments": dict(failed_enrollments),
        **summary,
        "embeddings_computed": embeddings_computed,
        "seconds": seconds,
    }
    if results is not None:
        report["trial_results"] = [_trial_row(r) for r in results]
    return report


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    """The summary in a few lines: EER, minDCF and errors at the threshold, the service's errors."""
    lines: list[str] = []
    full = summary.get("full_length")
    if full:
        for name in ("calibrated", "raw_cosine"):
            part = full[name]
            at = part["at_threshold"]
            lines.append(
                f"{name:>11}: EER {100 * part['eer']:.2f} %  minDCF {part['min_dcf']:.3f}  "
                f"at {at['threshold']:g}: FRR {at['false_rejects']}/{at['genuine']} "
                f"FAR {at['false_accepts']}/{at['impostor']}"
            )
    service = summary["service"]
    lines.append(
        f"    service: FRR {service['false_rejects']}/{service['genuine']} "
        f"FAR {service['false_accepts']}/{service['impostor']}  "
        f"median speech {service['speech_s_median']} s "
        f"(genuine {service['speech_s_median_genuine']} s)"
    )
    return lines


def write_json(report: dict[str, Any], path: Path) -> None:
    """Write the report as indented JSON (the parent folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n", encoding="utf-8")
