"""Silero VAD as the speech detector, on real speech."""

from __future__ import annotations

import pytest

from tests.contract.speech_detector_contract import SpeechDetectorContract
from tests.integration.real_model import speech
from voiceauth_adapters.vad import SileroSpeechDetector
from voiceauth_core import Audio
from voiceauth_core.testing import synthetic_voice

pytestmark = pytest.mark.integration

_DETECTOR: SileroSpeechDetector | None = None


def detector_once() -> SileroSpeechDetector:
    global _DETECTOR  # noqa: PLW0603 - the model loads once per test process
    if _DETECTOR is None:
        _DETECTOR = SileroSpeechDetector()
    return _DETECTOR


class TestSileroSpeechDetector(SpeechDetectorContract):
    @pytest.fixture
    def detector(self) -> SileroSpeechDetector:
        return detector_once()

    @pytest.fixture
    def speech_clip(self) -> Audio:
        return speech("1098_a")


async def test_a_tone_is_not_speech() -> None:
    import numpy as np

    t = np.arange(48000) / 16000
    tone = Audio(samples=(0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), sample_rate=16000)
    assert (await detector_once().speech(tone)).duration < 0.5


async def test_net_speech_is_less_than_the_recording_with_pauses() -> None:
    clip = speech("103_a")
    padded = Audio.concatenate([Audio.silence(1.5), clip, Audio.silence(1.5)])
    found = await detector_once().speech(padded)
    assert 0.6 * clip.duration < found.duration < clip.duration + 0.3
    assert (await detector_once().speech(synthetic_voice(seconds=0.1))).duration == 0.0
