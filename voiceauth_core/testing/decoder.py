"""A WAV-only decoder on the standard library, with linear-interpolation resampling."""

from __future__ import annotations

import io
import wave

import numpy as np

from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.errors import AudioProcessingError

__all__ = ["WaveDecoder"]

_DTYPES: dict[int, np.dtype[np.integer]] = {
    1: np.dtype(np.uint8),
    2: np.dtype("<i2"),
    4: np.dtype("<i4"),
}


class WaveDecoder:
    """Decodes PCM WAV (8, 16 or 32 bit), downmixes, and resamples to 16 kHz by interpolation.

    A fake for tests: the real decoder (``voiceauth_adapters.audio``) reads every common format
    and resamples with an anti-aliasing filter.
    """

    async def decode(self, data: bytes, *, content_type: str | None = None) -> Audio:
        """Decode a WAV file.

        Raises:
            AudioProcessingError: The bytes are not a PCM WAV file.
        """
        del content_type
        try:
            with wave.open(io.BytesIO(data), "rb") as reader:
                width, channels = reader.getsampwidth(), reader.getnchannels()
                rate = reader.getframerate()
                raw = reader.readframes(reader.getnframes())
        except (wave.Error, EOFError) as exc:
            raise AudioProcessingError(
                "the file is not a readable WAV", reason="undecodable"
            ) from exc
        if width not in _DTYPES:
            raise AudioProcessingError("unsupported WAV sample width", reason="undecodable")
        pcm = np.frombuffer(raw[: len(raw) - len(raw) % (width * channels)], dtype=_DTYPES[width])
        scale = {1: 128.0, 2: 32768.0, 4: 2147483648.0}[width]
        samples = (pcm.astype(np.float64) - (128.0 if width == 1 else 0.0)) / scale
        mono = samples.reshape(-1, channels).mean(axis=1)
        if rate != CANONICAL_RATE and len(mono):
            times = np.arange(round(len(mono) * CANONICAL_RATE / rate)) / CANONICAL_RATE
            mono = np.interp(times, np.arange(len(mono)) / rate, mono)
        return Audio(samples=mono.astype(np.float32), sample_rate=CANONICAL_RATE)
