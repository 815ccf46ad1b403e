"""The contract every AudioDecoder passes: the WAV fake and the real soundfile/ffmpeg decoder.

Subclass :class:`AudioDecoderContract` and provide the fixture ``decoder``.
"""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from voiceauth_core import CANONICAL_RATE, Audio, AudioProcessingError
from voiceauth_core.ports import AudioDecoder
from voiceauth_core.testing import synthetic_voice, wav_bytes


def stereo_wav(left: Audio, right: Audio) -> bytes:
    pcm = np.stack([left.samples, right.samples], axis=1)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(left.sample_rate)
        writer.writeframes(np.round(pcm * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


class AudioDecoderContract:
    """Behaviour every decoder must show."""

    def test_is_an_audio_decoder(self, decoder: AudioDecoder) -> None:
        assert isinstance(decoder, AudioDecoder)

    async def test_16k_wav_round_trips(self, decoder: AudioDecoder) -> None:
        voice = synthetic_voice(seconds=2.0)
        decoded = await decoder.decode(wav_bytes(voice), content_type="audio/wav")
        assert decoded.sample_rate == CANONICAL_RATE
        assert len(decoded.samples) == pytest.approx(len(voice.samples), abs=16)
        n = min(len(decoded.samples), len(voice.samples))
        assert np.max(np.abs(decoded.samples[:n] - voice.samples[:n])) < 1e-3

    @pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
    async def test_other_rates_are_resampled_to_16k(self, decoder: AudioDecoder, rate: int) -> None:
        voice = synthetic_voice(seconds=1.5, sample_rate=rate)
        decoded = await decoder.decode(wav_bytes(voice))
        assert decoded.sample_rate == CANONICAL_RATE
        assert decoded.duration == pytest.approx(1.5, abs=0.01)
        assert decoded.rms() == pytest.approx(voice.rms(), rel=0.1)

    async def test_stereo_is_downmixed(self, decoder: AudioDecoder) -> None:
        left = synthetic_voice(seconds=1.0, seed=1)
        silent = Audio.silence(1.0)
        decoded = await decoder.decode(stereo_wav(left, silent))
        assert decoded.duration == pytest.approx(1.0, abs=0.01)
        assert decoded.rms() == pytest.approx(left.rms() / 2, rel=0.1)

    @pytest.mark.parametrize(
        "data", [b"", b"not audio at all", b"RIFF\x10\x00\x00\x00WAVEfmt ", bytes(range(256)) * 8]
    )
    async def test_garbage_is_refused(self, decoder: AudioDecoder, data: bytes) -> None:
        with pytest.raises(AudioProcessingError):
            await decoder.decode(data)
