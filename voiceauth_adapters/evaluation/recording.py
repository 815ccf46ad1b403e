"""Recording the Verify loop's scores for the calibration, one condition at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from voiceauth_adapters.evaluation.fitting import RecordedTrial, ScoreRecorder
from voiceauth_adapters.evaluation.runner import Evaluator, TrialResult
from voiceauth_adapters.evaluation.trials import Trial

__all__ = ["record_condition"]


async def record_condition(
    evaluator: Evaluator,
    trials: Sequence[Trial],
    recorder: ScoreRecorder,
    *,
    name: str,
    progress: Callable[[int], None] | None = None,
) -> list[RecordedTrial]:
    """Run ``trials`` through ``evaluator`` and keep every check ``recorder`` scored.

    Args:
        evaluator: Runs the condition, with ``recorder`` as its engine's policy.
        trials: The calibration speakers' trials.
        recorder: The policy that notes each check's scores.
        name: The condition's name (``enrol/test`` channels), kept with each trial.
        progress: Called with 1 after each trial.

    Returns:
        The trials that were scored at least once, with their points.
    """
    recorded: list[RecordedTrial] = []

    def keep(trial: Trial, result: TrialResult) -> None:
        del result
        points = recorder.take()
        if points:
            recorded.append(
                RecordedTrial(condition=name, genuine=trial.genuine, points=tuple(points))
            )

    await evaluator.run(trials, progress, keep)
    return recorded
