"""Scores and the decision rule: the seam where normalisation and calibration plug in."""

from __future__ import annotations

from dataclasses import dataclass

from voiceauth_core.attempt import Decision
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment
from voiceauth_core.errors import InvalidInputError

__all__ = ["CosinePolicy", "Score"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """A trial's score.

    Args:
        calibrated: The score in [0, 1] that is compared with the threshold (returned as ``score``).
        raw: The raw cosine similarity in [-1, 1], for transparency.
    """

    calibrated: float
    raw: float


def _check_threshold(threshold: float) -> None:
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInputError("the threshold must lie in [0, 1]")


@dataclass(frozen=True, slots=True, kw_only=True)
class CosinePolicy:
    """The original service's rule: accept when the cosine similarity reaches the threshold.

    The calibrated score is the cosine clipped to [0, 1]. An early decision is taken once the
    score is ``margin`` clear of the threshold on either side.

    Args:
        threshold: Accept at or above this score (``VOICE_THRESHOLD``, 0.82 by default).
        margin: How far from the threshold a score must be for an early decision.
    """

    threshold: float = 0.82
    margin: float = 0.1

    def __post_init__(self) -> None:
        _check_threshold(self.threshold)

    @property
    def name(self) -> str:
        """Identifies the rule in reports and health output."""
        return "cosine"

    def score(self, enrollment: Enrollment, probe: Embedding, *, speech_seconds: float) -> Score:
        """Score a probe embedding against an enrolment.

        Raises:
            ModelMismatchError: The probe and the enrolment come from different models.
        """
        del speech_seconds  # the raw rule ignores duration; calibrated policies use it
        raw = enrollment.centroid.cosine(probe)
        return Score(calibrated=min(1.0, max(0.0, raw)), raw=raw)

    def decide(self, score: Score) -> Decision:
        """Accept at or above the threshold, reject below."""
        return Decision.ACCEPT if score.calibrated >= self.threshold else Decision.REJECT

    def early_decision(self, score: Score, *, speech_seconds: float) -> Decision | None:
        """A decision that more speech would not change, or None to keep listening."""
        del speech_seconds
        if score.calibrated >= self.threshold + self.margin:
            return Decision.ACCEPT
        if score.calibrated <= self.threshold - self.margin:
            return Decision.REJECT
        return None
