"""Silero's hysteresis rule turning frame probabilities into speech segments."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceauth_adapters.vad.segments import SegmentRule, speech_segments

pytestmark = pytest.mark.unit

RULE = SegmentRule()  # 512-sample frames, 0.5 / 0.35, 250 ms speech, 100 ms silence, 30 ms pad


def frames(*runs: tuple[float, int]) -> list[float]:
    return [value for value, count in runs for _ in range(count)]


def test_silence_has_no_segment() -> None:
    assert speech_segments([0.0] * 50, 50 * 512, RULE) == []


def test_speech_throughout_is_one_segment_of_everything() -> None:
    assert speech_segments([0.9] * 50, 50 * 512 - 100, RULE) == [(0, 50 * 512 - 100)]


def test_a_segment_is_padded_on_both_sides() -> None:
    probabilities = frames((0.0, 10), (0.9, 20), (0.0, 20))
    assert speech_segments(probabilities, 50 * 512, RULE) == [(10 * 512 - 480, 30 * 512 + 480)]


def test_a_burst_not_longer_than_min_speech_is_dropped() -> None:
    probabilities = frames((0.0, 10), (0.9, 7), (0.0, 20))  # 7 frames = 3584 samples < 4000
    assert speech_segments(probabilities, 37 * 512, RULE) == []


def test_a_short_pause_does_not_split_a_segment() -> None:
    probabilities = frames((0.9, 20), (0.0, 3), (0.9, 20), (0.0, 10))  # 3 frames < 1600 samples
    assert speech_segments(probabilities, 53 * 512, RULE) == [(0, 43 * 512 + 480)]


def test_a_long_pause_splits_a_segment() -> None:
    probabilities = frames((0.9, 20), (0.0, 5), (0.9, 20), (0.0, 10))  # 2048 silent samples
    first, second = speech_segments(probabilities, 55 * 512, RULE)
    assert first == (0, 20 * 512 + 480)
    assert second == (25 * 512 - 480, 45 * 512 + 480)


def test_segments_closer_than_two_pads_share_the_gap() -> None:
    rule = SegmentRule(min_silence=1024, pad=1500)
    probabilities = frames((0.9, 20), (0.0, 3), (0.9, 20), (0.0, 10))
    first, second = speech_segments(probabilities, 53 * 512, rule)
    assert first == (0, 20 * 512 + 768)  # the gap of 1536 samples is split in two
    assert second == (23 * 512 - 768, 43 * 512 + 1500)


def test_between_the_thresholds_speech_goes_on() -> None:
    probabilities = frames((0.9, 10), (0.4, 30), (0.0, 10))  # 0.4 is above neg_threshold
    assert speech_segments(probabilities, 50 * 512, RULE) == [(0, 40 * 512 + 480)]


@given(
    st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=200),
    st.integers(min_value=0, max_value=511),
)
def test_segments_are_ordered_disjoint_and_inside_the_recording(
    probabilities: list[float], shortfall: int
) -> None:
    total = max(0, len(probabilities) * 512 - shortfall)
    found = speech_segments(probabilities, total, RULE)
    for start, end in found:
        assert 0 <= start < end <= total
    for (_, end), (start, _) in itertools.pairwise(found):
        assert end <= start
