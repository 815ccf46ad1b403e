"""Anti-spoofing values: how synthetic, converted or replayed a stretch of speech sounds.

A countermeasure (``SpoofDetector``) scores speech window by window; its raw scores mean
nothing across detectors, so a :class:`SpoofCalibration`, fitted per detector on labelled
genuine and spoofed speech, maps their mean to a probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voiceauth_core.errors import InvalidInputError

__all__ = [
    "MIN_SPOOF_SPEECH_S",
    "SpoofAssessment",
    "SpoofCalibration",
    "SpoofSegment",
    "window_bounds",
]

#: The least speech a detector assesses (seconds). Countermeasures look at a few seconds and
#: repeat shorter speech to fill their window; below half a second that repetition would be most
#: of what they hear, so shorter speech is refused rather than given a meaningless score. It is
#: half the net speech a verification needs (``QualityGate.min_verify_speech_s``).
MIN_SPOOF_SPEECH_S = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoofCalibration:
    """A logistic map from one detector's combined raw score to a probability of spoofing.

    ``probability = 1 / (1 + exp(-(scale * combined + offset)))``.

    Args:
        scale: Positive, so a higher raw score never means a lower probability.
        offset: The log-odds at a raw score of zero.
        detector_id: The detector whose scores it was fitted on; it applies to no other.

    Raises:
        InvalidInputError: ``scale`` is not positive and finite, ``offset`` not finite, or
            ``detector_id`` empty.
    """

    scale: float
    offset: float
    detector_id: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise InvalidInputError("a spoof calibration's scale must be positive and finite")
        if not math.isfinite(self.offset):
            raise InvalidInputError("a spoof calibration's offset must be finite")
        if not self.detector_id:
            raise InvalidInputError("a spoof calibration must name its detector")

    def probability(self, combined: float) -> float:
        """The calibrated probability that speech with this combined raw score is spoofed."""
        z = self.scale * combined + self.offset
        if z >= 0:  # the two forms keep exp() from overflowing on either side
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoofSegment:
    """One window of speech and its raw countermeasure score.

    Args:
        start_s: Where the window starts in the assessed speech, in seconds.
        end_s: Where it ends (speech shorter than the detector's window ends at its end).
        score: The detector's raw score, higher for more synthetic (for AASIST: the spoof logit
            minus the bona fide logit).
    """

    start_s: float
    end_s: float
    score: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.score):
            raise InvalidInputError("a spoof score must be finite")
        if not 0 <= self.start_s < self.end_s:
            raise InvalidInputError("a spoof segment must satisfy 0 <= start < end")


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoofAssessment:
    """What a countermeasure concluded about a stretch of speech.

    Build it with :meth:`calibrated`, which derives the probability from the segments.

    Args:
        detector_id: The detector (and weights) that scored the speech.
        segments: The windows scored, in order; together they cover the speech.
        seconds: The length of the speech assessed.
        probability: The calibrated probability that the speech is synthetic, converted or
            replayed, in [0, 1].

    Raises:
        InvalidInputError: No segments, a segment beyond the speech, or a probability outside
            [0, 1].
    """

    detector_id: str
    segments: tuple[SpoofSegment, ...]
    seconds: float
    probability: float

    def __post_init__(self) -> None:
        if not self.segments:
            raise InvalidInputError("a spoof assessment needs at least one segment")
        if any(segment.end_s > self.seconds + 1e-9 for segment in self.segments):
            raise InvalidInputError("a spoof segment ends after the speech assessed")
        if not 0.0 <= self.probability <= 1.0:
            raise InvalidInputError("a probability must be in [0, 1]")

    @classmethod
    def calibrated(
        cls, *, segments: tuple[SpoofSegment, ...], seconds: float, calibration: SpoofCalibration
    ) -> SpoofAssessment:
        """The assessment of scored segments, its probability from ``calibration``."""
        combined = _mean(segments)
        return cls(
            detector_id=calibration.detector_id,
            segments=segments,
            seconds=seconds,
            probability=calibration.probability(combined),
        )

    @property
    def combined(self) -> float:
        """The combined raw score: the mean of the segments' scores."""
        return _mean(self.segments)

    @property
    def scores(self) -> tuple[float, ...]:
        """The segments' raw scores, in order."""
        return tuple(segment.score for segment in self.segments)


def _mean(segments: tuple[SpoofSegment, ...]) -> float:
    if not segments:
        raise InvalidInputError("a spoof assessment needs at least one segment")
    count = len(segments)
    # Divided first: the mean of finite scores is finite even where their sum would overflow.
    return math.fsum(segment.score / count for segment in segments)


def window_bounds(length: int, window: int) -> tuple[tuple[int, int], ...]:
    """Where a detector with a fixed window looks in ``length`` samples: ``(start, end)`` pairs.

    Consecutive windows from the start; when they do not fit exactly, a last window ends at the
    end of the speech (overlapping the one before), so every window is real speech and the
    windows cover it all. Speech shorter than one window is one segment, ``(0, length)``, which
    the detector fills as it was trained to (AASIST repeats it).

    Raises:
        InvalidInputError: ``length`` or ``window`` is not positive.
    """
    if length <= 0 or window <= 0:
        raise InvalidInputError("window bounds need a positive length and window")
    if length <= window:
        return ((0, length),)
    bounds = [(start, start + window) for start in range(0, length - window + 1, window)]
    if bounds[-1][1] < length:
        bounds.append((length - window, length))
    return tuple(bounds)
