"""The simulated replay: a loudspeaker into a room, seeded, length- and level-keeping."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceauth_adapters.evaluation.distortion import CEILING
from voiceauth_adapters.evaluation.replay import (
    ReplaySetting,
    loudspeaker,
    replay,
    room_impulse_response,
)
from voiceauth_core import CANONICAL_RATE, Audio
from voiceauth_core.testing import synthetic_voice

pytestmark = pytest.mark.unit


def _tone(hz: float, level: float = 0.5, seconds: float = 1.0) -> npt.NDArray[np.float64]:
    t = np.arange(round(seconds * CANONICAL_RATE)) / CANONICAL_RATE
    return level * np.sin(2 * np.pi * hz * t)


def _schroeder_rt60(response: npt.NDArray[np.float64], rate: int) -> float:
    """RT60 from the energy decay curve's slope between -10 and -30 dB (a T20, times three)."""
    decay = np.cumsum((response**2)[::-1])[::-1]
    decay_db = 10 * np.log10(decay / decay[0])
    times = np.arange(response.size) / rate
    fitted = (decay_db <= -10) & (decay_db >= -30)
    slope, _ = np.polyfit(times[fitted], decay_db[fitted], 1)
    return float(-60.0 / slope)


def test_the_same_seed_gives_the_same_replay_and_another_seed_another() -> None:
    voice = synthetic_voice(seconds=2.0, seed=1)
    first = replay(voice, seed=7).samples
    np.testing.assert_array_equal(first, replay(voice, seed=7).samples)
    assert not np.array_equal(first, replay(voice, seed=8).samples)


def test_a_replay_keeps_the_length_rate_and_peak_level() -> None:
    voice = synthetic_voice(seconds=2.5, seed=2, level=0.4)
    heard = replay(voice, seed=3)
    assert heard.sample_rate == CANONICAL_RATE
    assert heard.samples.size == voice.samples.size
    assert np.max(np.abs(heard.samples)) == pytest.approx(0.4, rel=1e-3)


@given(seed=st.integers(0, 2**32), level=st.floats(0.01, 1.0))
def test_a_replay_never_passes_full_scale(seed: int, level: float) -> None:
    tone = _tone(440.0, level=level, seconds=0.5).astype(np.float32)
    full = Audio(samples=tone, sample_rate=CANONICAL_RATE)
    heard = replay(full, seed=seed)
    assert heard.samples.size == full.samples.size
    assert np.max(np.abs(heard.samples)) <= CEILING + 1e-6


def test_a_replay_of_silence_is_silence() -> None:
    heard = replay(Audio.silence(0.5), seed=0)
    assert not np.any(heard.samples)


@pytest.mark.parametrize("rt60_s", [0.2, 0.4, 0.6])
def test_the_room_response_decays_60_db_in_the_asked_rt60(rt60_s: float) -> None:
    response = room_impulse_response(
        rt60_s=rt60_s,
        sample_rate=CANONICAL_RATE,
        rng=np.random.default_rng(5),
        direct_to_reverberant_db=0.0,
    )
    assert response[0] == 1.0
    assert response.size == round(rt60_s * CANONICAL_RATE)
    assert _schroeder_rt60(response, CANONICAL_RATE) == pytest.approx(rt60_s, rel=0.15)


def test_the_direct_path_carries_the_asked_share_of_the_energy() -> None:
    response = room_impulse_response(
        rt60_s=0.4,
        sample_rate=CANONICAL_RATE,
        rng=np.random.default_rng(6),
        direct_to_reverberant_db=6.0,
    )
    tail = float(np.sum(response[1:] ** 2))
    assert 10 * np.log10(1.0 / tail) == pytest.approx(6.0, abs=1e-6)


def test_drawn_rooms_and_loudspeakers_stay_in_their_ranges() -> None:
    settings = [ReplaySetting.draw(np.random.default_rng(seed)) for seed in range(200)]
    assert all(0.2 <= s.rt60_s <= 0.6 for s in settings)
    assert all(120 <= s.low_hz <= 200 and 6000 <= s.high_hz <= 7200 for s in settings)
    assert all(1.2 <= s.drive <= 2.5 for s in settings)
    assert max(s.rt60_s for s in settings) - min(s.rt60_s for s in settings) > 0.3


def _level_db(samples: npt.NDArray[np.float64]) -> float:
    steady = samples[samples.size // 2 :]  # past the filter's start-up
    return float(10 * np.log10(np.mean(steady**2)))


def test_the_loudspeaker_passes_its_band_and_cuts_what_lies_outside() -> None:
    setting = ReplaySetting(low_hz=150.0, high_hz=7000.0, drive=1.2)

    def gain_db(hz: float) -> float:
        tone = _tone(hz, level=0.1)
        return _level_db(loudspeaker(tone, CANONICAL_RATE, setting)) - _level_db(tone)

    assert abs(gain_db(1000.0)) < 1.0
    assert gain_db(50.0) < -15.0
    assert gain_db(7900.0) < gain_db(1000.0) - 3.0


def test_the_loudspeaker_distorts_a_loud_tone_mildly() -> None:
    tone = _tone(500.0, level=0.8)
    played = loudspeaker(tone, CANONICAL_RATE, ReplaySetting(drive=2.0))
    spectrum = np.abs(np.fft.rfft(played[CANONICAL_RATE // 2 :]))
    hz = np.fft.rfftfreq(CANONICAL_RATE - CANONICAL_RATE // 2, 1 / CANONICAL_RATE)
    fundamental = spectrum[np.argmin(np.abs(hz - 500))]
    third = spectrum[np.argmin(np.abs(hz - 1500))]
    assert -40.0 < 20 * np.log10(third / fundamental) < -10.0  # audible, not a fuzz box
