"""Level changes and additive noise, as a caller's handset and surroundings change a recording.

Both keep the audio's length and never let a sample past :data:`CEILING`: a gain that would
clip is lowered (as a handset's automatic gain control would), never clipped.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from voiceauth_core.audio import Audio

__all__ = [
    "CEILING",
    "NoiseColour",
    "active_power",
    "add_noise",
    "change_level",
    "coloured_noise",
]

#: The largest magnitude a distorted sample may reach (-0.09 dBFS): just under full scale.
CEILING = 0.99

NoiseColour = Literal["white", "pink"]

_FRAME_S = 0.02


def _guarded(samples: npt.NDArray[np.float64], ceiling: float) -> npt.NDArray[np.float32]:
    """``samples`` scaled down as a whole if their peak passes ``ceiling``."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > ceiling:
        samples = samples * (ceiling / peak)
    return samples.astype(np.float32)


def change_level(audio: Audio, gain_db: float, *, ceiling: float = CEILING) -> Audio:
    """``audio`` made louder or quieter by ``gain_db``.

    A gain that would push the peak past ``ceiling`` is lowered until the peak meets it, so the
    result never clips (a loud handset's gain control, not a clipped one).
    """
    gained = audio.samples.astype(np.float64) * 10.0 ** (gain_db / 20.0)
    return Audio(samples=_guarded(gained, ceiling), sample_rate=audio.sample_rate)


def active_power(samples: npt.NDArray[np.floating], sample_rate: int) -> float:
    """The mean power of the louder half of the 20 ms frames: the level of the speech itself.

    Pauses do not dilute it, so a signal-to-noise ratio set against it is the one heard while
    someone speaks. Audio shorter than a frame is measured whole.
    """
    values = np.asarray(samples, dtype=np.float64)
    frame = max(1, round(_FRAME_S * sample_rate))
    count = values.size // frame
    if count < 2:
        return float(np.mean(values**2)) if values.size else 0.0
    powers = np.mean(values[: count * frame].reshape(count, frame) ** 2, axis=1)
    louder = np.sort(powers)[count // 2 :]
    return float(np.mean(louder))


def coloured_noise(
    length: int, colour: NoiseColour, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Gaussian noise of unit power: flat (``white``) or falling 3 dB an octave (``pink``)."""
    white = rng.standard_normal(length)
    if colour == "white" or length < 2:
        noise = white
    else:
        spectrum = np.fft.rfft(white)
        bins = np.arange(spectrum.size, dtype=np.float64)
        bins[0] = 1.0
        spectrum /= np.sqrt(bins)  # power falls as 1/f
        spectrum[0] = 0.0  # no offset
        noise = np.fft.irfft(spectrum, n=length)
    power = float(np.mean(noise**2))
    return noise / np.sqrt(power) if power > 0 else noise


def add_noise(
    audio: Audio,
    *,
    snr_db: float,
    colour: NoiseColour,
    seed: int,
    ceiling: float = CEILING,
) -> Audio:
    """``audio`` with noise added ``snr_db`` below its :func:`active_power`.

    Args:
        audio: The recording.
        snr_db: The speech-to-noise ratio.
        colour: ``white`` or ``pink``.
        seed: Seeds the noise: the same seed gives the same samples.
        ceiling: If the mixture peaks past it, the whole mixture is scaled down (the ratio stays).
    """
    samples = audio.samples.astype(np.float64)
    noise = coloured_noise(samples.size, colour, np.random.default_rng(seed))
    scale = np.sqrt(active_power(samples, audio.sample_rate) / 10.0 ** (snr_db / 10.0))
    return Audio(samples=_guarded(samples + scale * noise, ceiling), sample_rate=audio.sample_rate)
