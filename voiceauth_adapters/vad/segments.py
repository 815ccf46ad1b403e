"""From per-frame speech probabilities to speech segments: Silero VAD's hysteresis rule.

The same rule as ``silero_vad.get_speech_timestamps`` (without its splitting of over-long
segments, which changes nothing once the segments are joined): a segment starts on a frame at or
above ``threshold``, ends after ``min_silence`` samples below ``neg_threshold``, is dropped if not
longer than ``min_speech``, and is padded by ``pad`` samples on each side (half the gap when two
segments are closer than twice the pad).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SegmentRule", "speech_segments"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentRule:
    """How probabilities become segments; lengths in samples.

    Args:
        frame: Samples per probability (512 at 16 kHz).
        threshold: Probability at or above which a frame starts (or continues) speech.
        neg_threshold: Probability below which a frame counts as silence inside speech.
        min_speech: Segments not longer than this are dropped (clicks, coughs).
        min_silence: Shorter pauses do not end a segment.
        pad: Kept on each side of a segment so word edges survive.
    """

    frame: int = 512
    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech: int = 4000
    min_silence: int = 1600
    pad: int = 480


def speech_segments(
    probabilities: Sequence[float], total: int, rule: SegmentRule
) -> list[tuple[int, int]]:
    """The speech segments as ``(start, end)`` sample indices, in order, not overlapping.

    Args:
        probabilities: One speech probability per ``rule.frame`` samples, in order.
        total: The recording's length in samples.
        rule: The thresholds and durations.
    """
    found: list[list[int]] = []
    start: int | None = None
    silence_from = 0  # where the current pause inside speech began (0: none)
    for index, probability in enumerate(probabilities):
        sample = index * rule.frame
        if probability >= rule.threshold and silence_from:
            silence_from = 0
        if probability >= rule.threshold and start is None:
            start = sample
            continue
        if start is not None and probability < rule.neg_threshold:
            if not silence_from:
                silence_from = sample
            if sample - silence_from < rule.min_silence:
                continue
            if silence_from - start > rule.min_speech:
                found.append([start, silence_from])
            start, silence_from = None, 0
    if start is not None and total - start > rule.min_speech:
        found.append([start, total])
    return _padded(found, total, rule.pad)


def _padded(found: list[list[int]], total: int, pad: int) -> list[tuple[int, int]]:
    for index, segment in enumerate(found):
        if index == 0:
            segment[0] = max(0, segment[0] - pad)
        if index == len(found) - 1:
            segment[1] = min(total, segment[1] + pad)
            continue
        following = found[index + 1]
        gap = following[0] - segment[1]
        if gap < 2 * pad:
            segment[1] += gap // 2
            following[0] = max(0, following[0] - gap // 2)
        else:
            segment[1] = min(total, segment[1] + pad)
            following[0] = max(0, following[0] - pad)
    return [(first, last) for first, last in found]
