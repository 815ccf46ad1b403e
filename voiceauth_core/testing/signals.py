"""Synthetic voices for tests: harmonic speech-like sound with syllables and pauses."""

from __future__ import annotations

import io
import wave
from collections.abc import Sequence

import numpy as np

from voiceauth_core.audio import CANONICAL_RATE, Audio

__all__ = ["synthetic_voice", "wav_bytes"]


def synthetic_voice(
    *,
    f0: float = 120.0,
    formants: Sequence[float] = (700.0, 1200.0, 2600.0),
    seconds: float = 3.0,
    seed: int = 0,
    sample_rate: int = CANONICAL_RATE,
    pause_fraction: float = 0.25,
    level: float = 0.3,
) -> Audio:
    """A voice-like signal: a jittered harmonic series shaped by formant peaks, in syllables.

    Two calls with the same ``f0`` and ``formants`` sound like one speaker (different ``seed``
    gives other syllable timing and jitter); other values sound like another speaker.

    Args:
        f0: Fundamental frequency in Hz (pitch).
        formants: Centre frequencies of the spectral envelope's peaks, in Hz.
        seconds: Length.
        seed: Varies timing, jitter and phases.
        sample_rate: Samples per second.
        pause_fraction: Share of each syllable cycle that is silence.
        level: Peak amplitude.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    pitch = f0 * (1 + 0.03 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6.28)))
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    signal = np.zeros(n)
    for k in range(1, int(min(7600.0, sample_rate / 2 - 200) // f0) + 1):
        freq = k * f0
        envelope = sum(np.exp(-(((freq - fc) / (0.12 * fc)) ** 2)) for fc in formants) + 0.02
        signal += envelope / k**0.5 * np.sin(k * phase + rng.uniform(0, 6.28))
    syllable = rng.uniform(0.18, 0.3)
    cycle = (t + rng.uniform(0, syllable)) % syllable / syllable
    gate = np.clip((1 - pause_fraction - cycle) * 8, 0, 1) * np.clip(cycle * 8, 0, 1)
    signal *= gate
    signal += rng.normal(0, 1e-3, n)
    peak = float(np.max(np.abs(signal))) or 1.0
    return Audio(samples=(level * signal / peak).astype(np.float32), sample_rate=sample_rate)


def wav_bytes(audio: Audio) -> bytes:
    """The audio as a 16-bit mono WAV file."""
    pcm = np.clip(np.round(audio.samples * 32767), -32768, 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(audio.sample_rate)
        writer.writeframes(pcm.tobytes())
    return buffer.getvalue()
