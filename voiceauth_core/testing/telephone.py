"""A narrow-band telephone line, crudely: a windowed-sinc low-pass at 3.4 kHz and 8-bit levels."""

from __future__ import annotations

import numpy as np

from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.errors import AudioProcessingError

__all__ = ["LowPassLine"]


class LowPassLine:
    """The ``TelephoneChannel`` port without G.711: band-limits to ``cutoff_hz``, then rounds
    every sample to one of 256 levels (a line's 8 bits, uniform instead of mu-law).

    Args:
        cutoff_hz: The top of the pass band.
        taps: Length of the windowed-sinc filter (odd).
    """

    def __init__(self, *, cutoff_hz: float = 3400.0, taps: int = 129) -> None:
        if taps % 2 == 0 or not 0 < cutoff_hz < CANONICAL_RATE / 2:
            raise ValueError("an odd filter length and a cut-off below the Nyquist rate")
        n = np.arange(taps) - taps // 2
        fc = cutoff_hz / CANONICAL_RATE
        kernel = 2 * fc * np.sinc(2 * fc * n) * np.hamming(taps)
        self._kernel = kernel / kernel.sum()

    async def transmit(self, audio: Audio) -> Audio:
        """``audio`` low-passed and quantised, same rate and length.

        Raises:
            AudioProcessingError: The audio is not at the canonical rate.
        """
        if audio.sample_rate != CANONICAL_RATE:
            raise AudioProcessingError("the line takes 16 kHz audio", reason="bad_rate")
        narrow = np.convolve(audio.samples.astype(np.float64), self._kernel, mode="same")
        levels = np.round(np.clip(narrow, -1.0, 1.0) * 127.0) / 127.0
        return Audio(samples=levels.astype(np.float32), sample_rate=CANONICAL_RATE)
