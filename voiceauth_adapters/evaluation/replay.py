"""A replay attack, simulated: a recording played through a small loudspeaker into a room.

The loudspeaker drives its signal into a mild saturation and passes only its band (about
150 Hz to 7 kHz); the room adds a synthetic impulse response: a direct path, then exponentially
decaying Gaussian noise that falls 60 dB in the drawn RT60. The phone line is added afterwards
by the caller, as for any other clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, fftconvolve, sosfilt

from voiceauth_adapters.evaluation.distortion import CEILING
from voiceauth_core.audio import Audio

__all__ = ["ReplaySetting", "loudspeaker", "replay", "room_impulse_response"]

_DECADES_IN_RT60 = 3.0  # 60 dB of amplitude: a factor 10**3


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaySetting:
    """One loudspeaker in one room.

    Args:
        low_hz: The loudspeaker's lower band edge (a second-order high-pass).
        high_hz: Its upper band edge (a second-order low-pass).
        drive: How hard the signal's peak drives the saturation (``tanh``; 1 is nearly linear).
        rt60_s: The room's reverberation time: the tail falls 60 dB in it.
        direct_to_reverberant_db: The direct path's energy over the tail's.
    """

    low_hz: float = 150.0
    high_hz: float = 7000.0
    drive: float = 2.0
    rt60_s: float = 0.4
    direct_to_reverberant_db: float = 4.0

    @classmethod
    def draw(cls, rng: np.random.Generator) -> ReplaySetting:
        """A loudspeaker and room drawn from ``rng``: RT60 0.2-0.6 s, band edges around
        150 Hz and 7 kHz, a mild drive, the loudspeaker near the phone (0-8 dB direct)."""
        return cls(
            low_hz=float(rng.uniform(120.0, 200.0)),
            high_hz=float(rng.uniform(6000.0, 7200.0)),
            drive=float(rng.uniform(1.2, 2.5)),
            rt60_s=float(rng.uniform(0.2, 0.6)),
            direct_to_reverberant_db=float(rng.uniform(0.0, 8.0)),
        )


def loudspeaker(
    samples: npt.NDArray[np.floating], sample_rate: int, setting: ReplaySetting
) -> npt.NDArray[np.float64]:
    """``samples`` as a small loudspeaker renders them: saturated, then band-passed.

    The saturation is scaled to the signal's own peak, so it distorts loud passages mildly
    whatever the recording's level, and leaves the level where it was.
    """
    values = np.asarray(samples, dtype=np.float64)
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    if peak > 0:
        values = peak * np.tanh(setting.drive * values / peak) / np.tanh(setting.drive)
    nyquist = sample_rate / 2.0
    high = min(setting.high_hz, 0.95 * nyquist)
    sections = butter(2, [setting.low_hz, high], btype="bandpass", fs=sample_rate, output="sos")
    filtered: npt.NDArray[np.float64] = sosfilt(sections, values)
    return filtered


def room_impulse_response(
    *,
    rt60_s: float,
    sample_rate: int,
    rng: np.random.Generator,
    direct_to_reverberant_db: float = 4.0,
) -> npt.NDArray[np.float64]:
    """A synthetic room response: a unit direct path, then a noise tail falling 60 dB in
    ``rt60_s``, scaled so that the direct path carries ``direct_to_reverberant_db`` more energy.

    The response lasts ``rt60_s`` (the tail is 60 dB down at its end).
    """
    length = max(2, round(rt60_s * sample_rate))
    time_s = np.arange(length, dtype=np.float64) / sample_rate
    tail = rng.standard_normal(length) * 10.0 ** (-_DECADES_IN_RT60 * time_s / rt60_s)
    tail[0] = 0.0
    tail_energy = float(np.sum(tail**2))
    wanted = 10.0 ** (-direct_to_reverberant_db / 10.0)  # the tail's energy, the direct's being 1
    response = tail * np.sqrt(wanted / tail_energy) if tail_energy > 0 else tail
    response[0] = 1.0
    return response


def replay(audio: Audio, *, seed: int) -> Audio:
    """``audio`` played through a loudspeaker into a room, both drawn from ``seed``.

    Keeps the length (the reverberation tail past the end is cut, as a recording stops) and the
    peak level of the original, and never passes :data:`~.distortion.CEILING`.
    """
    rng = np.random.default_rng(seed)
    setting = ReplaySetting.draw(rng)
    rate = audio.sample_rate
    played = loudspeaker(audio.samples, rate, setting)
    room = room_impulse_response(
        rt60_s=setting.rt60_s,
        sample_rate=rate,
        rng=rng,
        direct_to_reverberant_db=setting.direct_to_reverberant_db,
    )
    heard = fftconvolve(played, room)[: audio.samples.size]
    peak = float(np.max(np.abs(heard))) if heard.size else 0.0
    original = float(np.max(np.abs(audio.samples))) if audio.samples.size else 0.0
    if peak > 0:
        heard = heard * (min(original, CEILING) / peak)
    return Audio(samples=heard.astype(np.float32), sample_rate=rate)
