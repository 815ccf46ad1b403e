"""The spoof rules: how a synthetic-speech assessment turns a matching voice into a step-up."""

from __future__ import annotations

from dataclasses import dataclass

from voiceauth_core.attempt import SpoofRisk
from voiceauth_core.errors import InvalidInputError

__all__ = ["SpoofGate"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoofGate:
    """When a caller's speech counts as synthetic, converted or replayed.

    The countermeasure's probability is a risk signal, not proof: it flags some real voices (some
    people and devices score "synthetic" on every call) and misses some clones. So a matching
    voice with a high risk is sent to another factor (``step_up``), never rejected, and a
    person's own enrolment sets their baseline: the risk is high only when the probe also sounds
    markedly more synthetic than the enrolment's own samples did.

    Args:
        step_up_probability: At or above this probability (and beyond the baseline margin) the
            risk is ``high``: an accept becomes ``step_up``.
        elevated_probability: At or above this the risk is ``elevated`` (reported, no effect).
        baseline_margin: How far above the enrolment's own mean score (the countermeasure's
            scale) a probe must be for a high probability to count; enrolments without a
            baseline use the probability alone.
        refuse_enroll_probability: An enrolment sample at or above this is refused as synthetic.
    """

    # The operating point measured for the shipped AASIST back-end and calibration
    # (docs/spoofing.md); another detector, back-end or calibration needs its own.
    step_up_probability: float = 0.4874
    elevated_probability: float = 0.4874
    baseline_margin: float = 2.0
    refuse_enroll_probability: float = 0.9787

    def __post_init__(self) -> None:
        probabilities = (
            self.step_up_probability,
            self.elevated_probability,
            self.refuse_enroll_probability,
        )
        if not all(0.0 < p <= 1.0 for p in probabilities):
            raise InvalidInputError("spoof thresholds are probabilities in (0, 1]")
        if self.elevated_probability > self.step_up_probability:
            raise InvalidInputError("the elevated spoof threshold cannot exceed the step-up one")
        if self.baseline_margin < 0:
            raise InvalidInputError("the spoof baseline margin cannot be negative")

    def risk(self, *, probability: float, raw: float, baseline: float | None) -> SpoofRisk:
        """The risk of one assessment against the enrolment's baseline (None: none kept).

        Args:
            probability: The calibrated probability that the speech is not a live person's.
            raw: The assessment's raw score on the countermeasure's scale.
            baseline: The enrolment's mean raw score over its own samples, or None.
        """
        beyond_baseline = baseline is None or raw - baseline >= self.baseline_margin
        if probability >= self.step_up_probability and beyond_baseline:
            return SpoofRisk.HIGH
        if probability >= self.elevated_probability:
            return SpoofRisk.ELEVATED
        return SpoofRisk.LOW

    def refuses_enrollment(self, probability: float) -> bool:
        """Whether an enrolment sample is too clearly synthetic to be a voiceprint."""
        return probability >= self.refuse_enroll_probability
