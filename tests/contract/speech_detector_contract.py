"""The contract every SpeechDetector passes: the energy fake and the real voice-activity detector.

Subclass :class:`SpeechDetectorContract` and provide fixtures ``detector`` and ``speech_clip``
(a 16 kHz recording that is mostly speech, at least 3 s long).
"""

from __future__ import annotations

import numpy as np
import pytest

from voiceauth_core import CANONICAL_RATE, Audio
from voiceauth_core.ports import SpeechDetector


class SpeechDetectorContract:
    """Behaviour every voice-activity detector must show."""

    def test_is_a_speech_detector(self, detector: SpeechDetector) -> None:
        assert isinstance(detector, SpeechDetector)

    async def test_silence_has_no_speech(self, detector: SpeechDetector) -> None:
        speech = await detector.speech(Audio.silence(3.0))
        assert speech.duration < 0.1

    async def test_empty_audio_has_no_speech(self, detector: SpeechDetector) -> None:
        empty = Audio(samples=np.zeros(0, np.float32), sample_rate=CANONICAL_RATE)
        assert (await detector.speech(empty)).duration == 0.0

    async def test_speech_is_found(self, detector: SpeechDetector, speech_clip: Audio) -> None:
        speech = await detector.speech(speech_clip)
        assert speech.sample_rate == CANONICAL_RATE
        assert 0.4 * speech_clip.duration <= speech.duration <= speech_clip.duration + 1e-6

    async def test_silence_around_speech_is_trimmed(
        self, detector: SpeechDetector, speech_clip: Audio
    ) -> None:
        alone = await detector.speech(speech_clip)
        padded = Audio.concatenate([Audio.silence(2.0), speech_clip, Audio.silence(2.0)])
        trimmed = await detector.speech(padded)
        assert trimmed.duration == pytest.approx(alone.duration, abs=0.6)
