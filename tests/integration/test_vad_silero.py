"""Silero VAD as the speech detector, on real speech: contract, parity with Silero's own code."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys

import numpy as np
import pytest

from tests.contract.speech_detector_contract import SpeechDetectorContract
from tests.integration.real_model import REPOSITORY, speech
from voiceauth_adapters.vad import SileroSpeechDetector
from voiceauth_core import Audio, AudioProcessingError
from voiceauth_core.testing import synthetic_voice

pytestmark = pytest.mark.integration


@functools.cache
def detector_once() -> SileroSpeechDetector:
    return SileroSpeechDetector()


class TestSileroSpeechDetector(SpeechDetectorContract):
    @pytest.fixture
    def detector(self) -> SileroSpeechDetector:
        return detector_once()

    @pytest.fixture
    def speech_clip(self) -> Audio:
        return speech("1098_a")


@pytest.mark.parametrize("name", ["103_a", "1088_b", "1098_a"])
def test_segments_equal_silero_get_speech_timestamps(name: str) -> None:
    # Silero's own package sets torch to one thread on import: run it in a child process.
    clip = Audio.concatenate([Audio.silence(0.7), speech(name), Audio.silence(1.1)])
    script = (
        "import sys, numpy as np, torch\n"
        "from silero_vad import load_silero_vad, get_speech_timestamps\n"
        "x = torch.from_numpy(np.frombuffer(sys.stdin.buffer.read(), np.float32).copy())\n"
        "stamps = get_speech_timestamps(x, load_silero_vad(onnx=True), sampling_rate=16000)\n"
        "print(' '.join(f\"{s['start']}:{s['end']}\" for s in stamps))\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        input=clip.samples.tobytes(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    reference = [tuple(int(v) for v in pair.split(":")) for pair in done.stdout.decode().split()]
    assert reference, "silero found no speech in a speech clip"
    assert detector_once().segments(clip) == reference


def test_probabilities_are_high_on_speech_and_low_on_silence() -> None:
    clip = Audio.concatenate([Audio.silence(1.0), speech("103_b")])
    probabilities = detector_once().probabilities(clip.samples)
    assert len(probabilities) == -(-len(clip.samples) // 512)
    assert float(np.max(probabilities[:25])) < 0.1  # the first 0.8 s are silence
    assert float(np.mean(probabilities[40:] >= 0.5)) > 0.6


async def test_a_tone_is_not_speech() -> None:
    t = np.arange(48000) / 16000
    tone = Audio(samples=(0.3 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), sample_rate=16000)
    assert (await detector_once().speech(tone)).duration < 0.5


async def test_white_noise_is_not_speech() -> None:
    noise = np.random.default_rng(7).normal(0, 0.05, 48000).astype(np.float32)
    assert (await detector_once().speech(Audio(samples=noise, sample_rate=16000))).duration < 0.5


async def test_net_speech_is_less_than_the_recording_with_pauses() -> None:
    clip = speech("103_a")
    padded = Audio.concatenate([Audio.silence(1.5), clip, Audio.silence(1.5)])
    found = await detector_once().speech(padded)
    assert 0.6 * clip.duration < found.duration < clip.duration + 0.3
    assert (await detector_once().speech(synthetic_voice(seconds=0.1))).duration == 0.0


async def test_concurrent_calls_agree() -> None:
    clips = [speech(name) for name in ("103_a", "1088_a", "1098_b")]
    alone = [len((await detector_once().speech(c)).samples) for c in clips]
    together = await asyncio.gather(*(detector_once().speech(c) for c in clips))
    assert [len(t.samples) for t in together] == alone


async def test_other_rates_are_refused() -> None:
    with pytest.raises(AudioProcessingError):
        await detector_once().speech(Audio.silence(1.0, sample_rate=8000))


def test_importing_the_detector_leaves_torch_threads_alone() -> None:
    script = (
        "import torch; torch.set_num_threads(2)\n"
        "from voiceauth_adapters.vad import SileroSpeechDetector\n"
        "SileroSpeechDetector(); print(torch.get_num_threads())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, check=True, timeout=120, cwd=REPOSITORY
    )
    assert done.stdout.decode().strip() == "2"


class _CountingSession:
    """Wraps the ONNX session to count the frames actually computed."""

    def __init__(self, session: object) -> None:
        self.session = session
        self.frames = 0

    def run(self, *args: object, **kwargs: object) -> object:
        self.frames += 1
        return self.session.run(*args, **kwargs)  # type: ignore[attr-defined]


def test_a_growing_capture_costs_only_its_new_frames_and_gives_the_same_answer() -> None:
    clip = Audio.concatenate([speech("1088_b"), speech("103_a")]).samples
    fresh = SileroSpeechDetector()
    counting = _CountingSession(fresh._session)
    fresh._session = counting
    # A live capture checked every 0.7 s (not a whole number of frames), as Verify does.
    for seconds in np.arange(0.7, len(clip) / 16000, 0.7):
        samples = clip[: int(seconds * 16000)]
        frames = -(-len(samples) // 512)
        counting.frames = 0
        incremental = fresh.probabilities(samples)
        assert counting.frames <= 0.7 * 16000 / 512 + 2  # the new frames, and the partial one
        alone = SileroSpeechDetector().probabilities(samples)
        assert len(incremental) == frames
        assert np.array_equal(incremental, alone)  # to the bit


def test_a_different_continuation_of_a_remembered_start_is_computed_afresh() -> None:
    start = speech("1088_b").samples
    detector = SileroSpeechDetector()
    detector.probabilities(start)
    for other in ("103_a", "1098_a"):
        samples = np.concatenate([start, speech(other).samples])
        assert np.array_equal(
            detector.probabilities(samples), SileroSpeechDetector().probabilities(samples)
        )
    changed = start.copy()
    changed[100] += 0.01  # same length, same last samples, one sample changed early on
    assert np.array_equal(
        detector.probabilities(changed), SileroSpeechDetector().probabilities(changed)
    )
