"""How much of speech's energy lies above 4.5 kHz: none for a telephone call, some for wide band.

A call over an 8 kHz line (G.711, AMR-NB) reaches the service resampled to 16 kHz with nothing
above 4 kHz; an upload recorded wide-band keeps its fricatives up to 8 kHz. The share is measured
above 4.5 kHz, clear of a resampler's transition band. The countermeasure's
back-end reads the share (as ``log10``) to tell the channel a call came through from the audio
itself, so the same speech is judged against genuine speech of its own kind of line.
"""

from __future__ import annotations

import math

import numpy as np

from voiceauth_core.audio import CANONICAL_RATE, Audio

__all__ = ["FLOOR", "SPLIT_HZ", "high_band_share", "log_high_band"]

#: Above a telephone line's band (which ends by 4 kHz), clear of resamplers' transition band.
SPLIT_HZ = 4500.0
#: The smallest share reported (silence or a perfectly band-limited line would give zero).
FLOOR = 1e-6
_FRAME = 512


def high_band_share(audio: Audio) -> float:
    """The share of ``audio``'s energy (16 kHz) at or above :data:`SPLIT_HZ`, at least
    :data:`FLOOR`; :data:`FLOOR` for silence or audio shorter than one frame."""
    samples = audio.samples.astype(np.float64)
    frames = samples.size // _FRAME
    if frames == 0 or audio.sample_rate != CANONICAL_RATE:
        return FLOOR
    framed = samples[: frames * _FRAME].reshape(frames, _FRAME) * np.hanning(_FRAME)
    power = np.sum(np.abs(np.fft.rfft(framed, axis=1)) ** 2, axis=0)
    total = float(power.sum())
    if total <= 0.0:
        return FLOOR
    high = float(power[np.fft.rfftfreq(_FRAME, 1 / CANONICAL_RATE) >= SPLIT_HZ].sum())
    return max(FLOOR, high / total)


def log_high_band(audio: Audio) -> float:
    """``log10`` of :func:`high_band_share`: -4.5 to -6 over a phone line, -0.8 to -3 wide."""
    return math.log10(high_band_share(audio))
