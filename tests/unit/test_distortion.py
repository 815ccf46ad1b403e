"""Level changes and additive noise of the spoof corpus: exact where asked, never clipped."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceauth_adapters.evaluation.distortion import (
    CEILING,
    active_power,
    add_noise,
    change_level,
    coloured_noise,
)
from voiceauth_core import CANONICAL_RATE, Audio
from voiceauth_core.testing import synthetic_voice

pytestmark = pytest.mark.unit


def test_a_level_change_that_fits_is_exact() -> None:
    voice = synthetic_voice(seconds=1.0, seed=1, level=0.3)
    quiet = change_level(voice, -12.0)
    np.testing.assert_allclose(quiet.samples, voice.samples * 10 ** (-12 / 20), rtol=1e-6)


def test_a_gain_that_would_clip_is_lowered_to_the_ceiling_without_clipping() -> None:
    voice = synthetic_voice(seconds=1.0, seed=2, level=0.8)
    loud = change_level(voice, 6.0)
    assert np.max(np.abs(loud.samples)) == pytest.approx(CEILING, rel=1e-6)
    ratio = loud.samples[voice.samples != 0] / voice.samples[voice.samples != 0]
    assert np.ptp(ratio) < 1e-4  # one gain everywhere: scaled, not clipped


@given(gain_db=st.floats(-40.0, 40.0), level=st.floats(0.0, 1.0))
def test_a_level_change_keeps_the_length_and_full_scale(gain_db: float, level: float) -> None:
    voice = synthetic_voice(seconds=0.3, seed=3, level=level)
    changed = change_level(voice, gain_db)
    assert changed.samples.size == voice.samples.size
    assert np.max(np.abs(changed.samples)) <= CEILING + 1e-6


@pytest.mark.parametrize("colour", ["white", "pink"])
@pytest.mark.parametrize("snr_db", [15.0, 20.0])
def test_noise_is_added_at_the_asked_ratio_to_the_speech(colour: str, snr_db: float) -> None:
    voice = synthetic_voice(seconds=3.0, seed=4, level=0.3)
    noisy = add_noise(voice, snr_db=snr_db, colour=colour, seed=9)  # type: ignore[arg-type]
    noise = noisy.samples.astype(np.float64) - voice.samples
    speech = active_power(voice.samples, CANONICAL_RATE)
    measured = 10 * np.log10(speech / np.mean(noise**2))
    assert measured == pytest.approx(snr_db, abs=0.2)


def test_noise_is_seeded() -> None:
    voice = synthetic_voice(seconds=1.0, seed=5)
    first = add_noise(voice, snr_db=15.0, colour="pink", seed=1).samples
    np.testing.assert_array_equal(
        first, add_noise(voice, snr_db=15.0, colour="pink", seed=1).samples
    )
    assert not np.array_equal(first, add_noise(voice, snr_db=15.0, colour="pink", seed=2).samples)


@given(seed=st.integers(0, 2**32), snr_db=st.floats(-5.0, 30.0))
def test_a_noisy_full_scale_recording_is_scaled_not_clipped(seed: int, snr_db: float) -> None:
    t = np.arange(CANONICAL_RATE // 4) / CANONICAL_RATE
    full = Audio(samples=np.sin(2 * np.pi * 300 * t).astype(np.float32), sample_rate=CANONICAL_RATE)
    noisy = add_noise(full, snr_db=snr_db, colour="white", seed=seed)
    assert noisy.samples.size == full.samples.size
    assert np.max(np.abs(noisy.samples)) <= CEILING + 1e-6


def _octave_db(noise: npt.NDArray[np.float64], low_hz: float) -> float:
    power = np.abs(np.fft.rfft(noise)) ** 2
    hz = np.fft.rfftfreq(noise.size, 1 / CANONICAL_RATE)
    return float(10 * np.log10(np.sum(power[(hz >= low_hz) & (hz < 2 * low_hz)])))


def test_pink_noise_has_equal_power_per_octave_and_white_noise_doubles_it() -> None:
    pink = coloured_noise(8 * CANONICAL_RATE, "pink", np.random.default_rng(0))
    white = coloured_noise(8 * CANONICAL_RATE, "white", np.random.default_rng(0))
    assert np.mean(pink**2) == pytest.approx(1.0)
    assert _octave_db(pink, 2000.0) - _octave_db(pink, 250.0) == pytest.approx(0.0, abs=1.0)
    assert _octave_db(white, 2000.0) - _octave_db(white, 250.0) == pytest.approx(9.0, abs=1.0)


def test_the_active_power_ignores_pauses() -> None:
    t = np.arange(CANONICAL_RATE) / CANONICAL_RATE
    tone = 0.5 * np.sin(2 * np.pi * 200 * t)
    with_pause = np.concatenate([tone, np.zeros(CANONICAL_RATE // 2)])
    assert active_power(with_pause, CANONICAL_RATE) == pytest.approx(0.125, rel=0.02)
