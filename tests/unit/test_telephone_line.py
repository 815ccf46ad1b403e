"""The simulated G.711 line passes the TelephoneChannel contract; it is the eval's phone line."""

from __future__ import annotations

import numpy as np
import pytest

from tests.contract.telephone_channel_contract import TelephoneChannelContract
from voiceauth_adapters.audio import G711Line, phone_channel
from voiceauth_adapters.audio.telephone import mobile_channel
from voiceauth_core import CANONICAL_RATE, Audio
from voiceauth_core.errors import AudioProcessingError
from voiceauth_core.testing import synthetic_voice

pytestmark = pytest.mark.unit


class TestG711Line(TelephoneChannelContract):
    @pytest.fixture
    def line(self) -> G711Line:
        return G711Line()


async def test_the_line_is_the_channel_the_calibration_was_measured_with() -> None:
    voice = synthetic_voice(seconds=2.0, seed=4)
    heard = await G711Line().transmit(voice)
    np.testing.assert_array_equal(heard.samples, phone_channel(voice).samples)


def _tone(hz: float) -> Audio:
    t = np.arange(CANONICAL_RATE) / CANONICAL_RATE
    return Audio(
        samples=(0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), sample_rate=CANONICAL_RATE
    )


def _rms(audio: Audio) -> float:
    return float(np.sqrt(np.mean(audio.samples.astype(np.float64) ** 2)))


def test_the_mobile_line_is_narrow_band_and_not_the_g711_line() -> None:
    voice = synthetic_voice(seconds=2.0, seed=6)
    heard = mobile_channel(voice)
    assert heard.sample_rate == CANONICAL_RATE
    assert len(heard.samples) == len(voice.samples)
    assert float(np.max(np.abs(heard.samples))) <= 1.0
    # The speech codec carries a voice at about its level ...
    assert 0.5 < _rms(heard) / _rms(voice) < 1.5
    # ... cuts what a narrow-band line cannot carry ...
    assert _rms(mobile_channel(_tone(6000.0))) < 0.1 * _rms(_tone(6000.0))
    # ... and is another line than G.711 alone (the codec rebuilds the waveform).
    g711 = phone_channel(voice)
    assert np.corrcoef(heard.samples, g711.samples)[0, 1] < 0.99


def test_the_mobile_line_refuses_another_rate_and_a_broken_codec() -> None:
    with pytest.raises(AudioProcessingError):
        mobile_channel(Audio(samples=np.zeros(8000, np.float32), sample_rate=8000))
    with pytest.raises(AudioProcessingError):
        mobile_channel(synthetic_voice(seconds=0.5, seed=1), executable="/bin/false")
