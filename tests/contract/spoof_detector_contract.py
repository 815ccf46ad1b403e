"""The contract every SpoofDetector passes: the spectral-flux fake and the AASIST adapter.

Subclass :class:`SpoofDetectorContract` and provide fixtures ``detector`` and ``speech_clip`` (a
16 kHz recording that is all speech, at least 9 s long).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time

import numpy as np
import pytest
from scipy.signal import resample_poly

from voiceauth_core import CANONICAL_RATE, MIN_SPOOF_SPEECH_S, Audio, AudioProcessingError
from voiceauth_core.ports import SpoofDetector
from voiceauth_core.spoofing import SpoofAssessment


def _narrow_band(audio: Audio) -> Audio:
    """The clip as a phone call delivers it: recorded at 8 kHz, resampled to 16 kHz."""
    narrow = resample_poly(audio.samples.astype(np.float64), 1, 2)
    wide = resample_poly(narrow, 2, 1)
    return Audio(samples=np.clip(wide, -1, 1).astype(np.float32), sample_rate=CANONICAL_RATE)


def _tone(seconds: float = 3.0) -> Audio:
    t = np.arange(round(seconds * CANONICAL_RATE)) / CANONICAL_RATE
    return Audio(
        samples=(0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sample_rate=CANONICAL_RATE
    )


def _noise(seconds: float = 3.0) -> Audio:
    noise = np.random.default_rng(7).normal(0, 0.1, round(seconds * CANONICAL_RATE))
    return Audio(samples=noise.astype(np.float32), sample_rate=CANONICAL_RATE)


def _check_covers(assessment: SpoofAssessment, audio: Audio) -> None:
    segments = assessment.segments
    assert segments[0].start_s == 0.0
    assert segments[-1].end_s == pytest.approx(audio.duration, abs=1e-6)
    for before, after in itertools.pairwise(segments):
        assert before.start_s < after.start_s <= before.end_s  # in order, no gap
    assert all(0.0 <= s.start_s < s.end_s <= audio.duration + 1e-6 for s in segments)


class SpoofDetectorContract:
    """Behaviour every countermeasure must show."""

    def test_is_a_spoof_detector(self, detector: SpoofDetector) -> None:
        assert isinstance(detector, SpoofDetector)
        assert detector.detector_id

    async def test_assessment_is_tagged_and_calibrated(
        self, detector: SpoofDetector, speech_clip: Audio
    ) -> None:
        assessment = await detector.assess(speech_clip)
        assert assessment.detector_id == detector.detector_id
        assert 0.0 <= assessment.probability <= 1.0
        assert all(math.isfinite(score) for score in assessment.scores)
        assert assessment.combined == pytest.approx(float(np.mean(assessment.scores)))
        assert assessment.seconds == pytest.approx(speech_clip.duration)

    async def test_segments_cover_long_speech(
        self, detector: SpoofDetector, speech_clip: Audio
    ) -> None:
        assessment = await detector.assess(speech_clip)
        assert len(assessment.segments) >= 2
        _check_covers(assessment, speech_clip)

    async def test_short_speech_is_one_segment(
        self, detector: SpoofDetector, speech_clip: Audio
    ) -> None:
        short = speech_clip.slice(1.0, 2.2)
        assessment = await detector.assess(short)
        assert len(assessment.segments) == 1
        _check_covers(assessment, short)

    async def test_the_minimum_is_assessed_and_less_is_refused(
        self, detector: SpoofDetector, speech_clip: Audio
    ) -> None:
        least = speech_clip.slice(1.0, 1.0 + MIN_SPOOF_SPEECH_S)
        _check_covers(await detector.assess(least), least)
        with pytest.raises(AudioProcessingError) as refused:
            await detector.assess(speech_clip.slice(1.0, 1.0 + MIN_SPOOF_SPEECH_S - 0.01))
        assert refused.value.reason == "too_short"

    async def test_empty_audio_is_refused(self, detector: SpoofDetector) -> None:
        empty = Audio(samples=np.zeros(0, np.float32), sample_rate=CANONICAL_RATE)
        with pytest.raises(AudioProcessingError) as refused:
            await detector.assess(empty)
        assert refused.value.reason == "too_short"

    async def test_other_sample_rate_is_refused(
        self, detector: SpoofDetector, speech_clip: Audio
    ) -> None:
        eight_k = Audio(samples=speech_clip.samples[::2], sample_rate=CANONICAL_RATE // 2)
        with pytest.raises(AudioProcessingError) as refused:
            await detector.assess(eight_k)
        assert refused.value.reason == "bad_rate"

    async def test_same_audio_gives_the_same_assessment(
        self, detector: SpoofDetector, speech_clip: Audio
    ) -> None:
        first, second = await detector.assess(speech_clip), await detector.assess(speech_clip)
        assert second.scores == pytest.approx(first.scores, abs=1e-5)
        assert second.probability == pytest.approx(first.probability, abs=1e-6)

    async def test_concurrent_calls_agree_with_single_calls(
        self, detector: SpoofDetector, speech_clip: Audio
    ) -> None:
        clips = [speech_clip, _narrow_band(speech_clip), _tone()]
        alone = [await detector.assess(clip) for clip in clips]
        together = await asyncio.gather(*(detector.assess(clip) for clip in clips))
        for single, concurrent in zip(alone, together, strict=True):
            assert concurrent.scores == pytest.approx(single.scores, abs=1e-5)

    async def test_narrow_band_speech_is_assessed(
        self, detector: SpoofDetector, speech_clip: Audio
    ) -> None:
        phone = _narrow_band(speech_clip)
        assessment = await detector.assess(phone)
        assert 0.0 <= assessment.probability <= 1.0
        _check_covers(assessment, phone)

    async def test_probability_rises_with_the_combined_score(
        self, detector: SpoofDetector, speech_clip: Audio
    ) -> None:
        clips = [
            speech_clip,
            _narrow_band(speech_clip),
            Audio(samples=speech_clip.samples * 0.2, sample_rate=CANONICAL_RATE),
            _tone(),
            _noise(),
        ]
        assessments = sorted([await detector.assess(c) for c in clips], key=lambda a: a.combined)
        probabilities = [a.probability for a in assessments]
        assert probabilities == sorted(probabilities)
        assert len({a.combined for a in assessments}) > 1  # the clips do score differently

    async def test_assessing_leaves_the_event_loop_free(
        self, detector: SpoofDetector, speech_clip: Audio
    ) -> None:
        long = Audio.concatenate([speech_clip] * math.ceil(20.0 / speech_clip.duration))
        gaps: list[float] = []
        running = True

        async def tick() -> None:
            last = time.perf_counter()
            while running:
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.01)
        started = time.perf_counter()
        await detector.assess(long)
        elapsed = time.perf_counter() - started
        running = False
        await ticker
        assert gaps
        # The loop turned all along: no pause near the whole assessment's length.
        assert max(gaps) < max(0.25, elapsed / 4), (max(gaps), elapsed)
