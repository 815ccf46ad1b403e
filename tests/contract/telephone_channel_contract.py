"""The contract every TelephoneChannel passes: the low-pass fake and the simulated G.711 line.

Subclass :class:`TelephoneChannelContract` and provide the fixture ``line``.
"""

from __future__ import annotations

import numpy as np
import pytest

from voiceauth_core import CANONICAL_RATE, Audio
from voiceauth_core.errors import AudioProcessingError
from voiceauth_core.ports import TelephoneChannel


def _tone(hz: float, seconds: float = 1.0, level: float = 0.3) -> Audio:
    t = np.arange(int(seconds * CANONICAL_RATE)) / CANONICAL_RATE
    return Audio(
        samples=(level * np.sin(2 * np.pi * hz * t)).astype(np.float32),
        sample_rate=CANONICAL_RATE,
    )


def _rms(audio: Audio) -> float:
    middle = audio.samples[len(audio.samples) // 4 : 3 * len(audio.samples) // 4]
    return float(np.sqrt(np.mean(middle.astype(np.float64) ** 2)))


class TelephoneChannelContract:
    """Behaviour every simulated telephone line must show."""

    def test_is_a_telephone_channel(self, line: TelephoneChannel) -> None:
        assert isinstance(line, TelephoneChannel)

    async def test_keeps_rate_and_length(self, line: TelephoneChannel) -> None:
        heard = await line.transmit(_tone(440.0, seconds=1.3))
        assert heard.sample_rate == CANONICAL_RATE
        assert abs(len(heard.samples) - int(1.3 * CANONICAL_RATE)) <= 2
        assert heard.samples.dtype == np.float32
        assert float(np.max(np.abs(heard.samples))) <= 1.0

    async def test_passes_the_voice_band(self, line: TelephoneChannel) -> None:
        tone = _tone(1000.0)
        heard = await line.transmit(tone)
        assert _rms(heard) == pytest.approx(_rms(tone), rel=0.12)

    async def test_cuts_what_a_phone_line_cannot_carry(self, line: TelephoneChannel) -> None:
        tone = _tone(6000.0)
        heard = await line.transmit(tone)
        assert _rms(heard) < 0.1 * _rms(tone)  # at least 20 dB down

    async def test_changes_wide_band_speech(self, line: TelephoneChannel) -> None:
        rng = np.random.default_rng(5)
        noise = Audio(
            samples=(0.1 * rng.standard_normal(CANONICAL_RATE)).astype(np.float32),
            sample_rate=CANONICAL_RATE,
        )
        heard = await line.transmit(noise)
        # White noise loses the half of its power above the band.
        assert 0.3 < _rms(heard) ** 2 / _rms(noise) ** 2 < 0.6

    async def test_refuses_another_rate(self, line: TelephoneChannel) -> None:
        audio = Audio(samples=np.zeros(8000, np.float32), sample_rate=8000)
        with pytest.raises(AudioProcessingError):
            await line.transmit(audio)
