"""A digit recogniser for tone-spoken digits: each digit a short tone at its own pitch."""

from __future__ import annotations

import asyncio

import numpy as np
import numpy.typing as npt

from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.challenge import HeardDigits
from voiceauth_core.errors import AudioProcessingError

__all__ = ["TONE_RECOGNIZER_ID", "ToneDigitRecognizer", "tone_digits"]

TONE_RECOGNIZER_ID = "fake-tone-digits"
_BASE_HZ = 500.0
_STEP_HZ = 150.0
_FRAME_S = 0.02
_MIN_TONE_S = 0.06  # shorter bursts are clicks, not digits
_TONAL = 0.8  # the share of a burst's power next to its peak for it to be a tone


def _pitch(digit: int) -> float:
    return _BASE_HZ + _STEP_HZ * digit


def tone_digits(
    digits: str,
    *,
    lead_s: float = 0.5,
    tone_s: float = 0.25,
    gap_s: float = 0.15,
    amplitude: float = 0.3,
) -> Audio:
    """``digits`` "spoken" as tones (digit ``d`` at ``500 + 150 d`` Hz) after ``lead_s`` of
    silence, ``gap_s`` apart: what :class:`ToneDigitRecognizer` hears."""
    rate = CANONICAL_RATE
    parts: list[npt.NDArray[np.float32]] = [np.zeros(round(lead_s * rate), np.float32)]
    time = np.arange(round(tone_s * rate)) / rate
    for digit in digits:
        tone = amplitude * np.sin(2 * np.pi * _pitch(int(digit)) * time)
        parts.append(tone.astype(np.float32))
        parts.append(np.zeros(round(gap_s * rate), np.float32))
    return Audio(samples=np.concatenate(parts), sample_rate=rate)


class ToneDigitRecognizer:
    """The ``DigitRecognizer`` port for :func:`tone_digits`: a real, small rule.

    It cuts the audio into 20 ms frames, takes runs of frames louder than a tenth of the
    loudest as bursts, and reads each tonal burst of at least 60 ms (most of its power at its
    spectral peak) as the digit whose pitch is nearest that peak; speech and bursts far from
    every digit's pitch are not digits.
    """

    @property
    def recognizer_id(self) -> str:
        """``fake-tone-digits``."""
        return TONE_RECOGNIZER_ID

    async def hear_digits(self, audio: Audio) -> HeardDigits:
        """The tone digits in ``audio`` and when the first began.

        Raises:
            AudioProcessingError: The audio is not at ``CANONICAL_RATE``.
        """
        if audio.sample_rate != CANONICAL_RATE:
            raise AudioProcessingError("the recogniser takes 16 kHz audio", reason="bad_rate")
        return await asyncio.to_thread(_hear, audio.samples)


def _hear(samples: npt.NDArray[np.float32]) -> HeardDigits:
    frame = round(_FRAME_S * CANONICAL_RATE)
    count = samples.size // frame
    if count == 0:
        return HeardDigits(digits="")
    frames = samples[: count * frame].astype(np.float64).reshape(count, frame)
    energy = np.sqrt(np.mean(frames**2, axis=1))
    loud = energy > max(float(energy.max()) * 0.1, 1e-4)
    digits: list[str] = []
    start_s: float | None = None
    index = 0
    while index < count:
        if not loud[index]:
            index += 1
            continue
        end = index
        while end < count and loud[end]:
            end += 1
        if (end - index) * _FRAME_S >= _MIN_TONE_S:
            digit = _digit_of(frames[index:end].ravel())
            if digit is not None:
                digits.append(digit)
                start_s = index * _FRAME_S if start_s is None else start_s
        index = end
    return HeardDigits(digits="".join(digits), start_s=start_s)


def _digit_of(burst: npt.NDArray[np.float64]) -> str | None:
    power = np.abs(np.fft.rfft(burst * np.hanning(burst.size))) ** 2
    peak = int(np.argmax(power))
    # A tone puts nearly all its power next to its peak; a voice spreads it over harmonics.
    if float(power[max(0, peak - 3) : peak + 4].sum()) < _TONAL * float(power.sum()):
        return None
    peak_hz = peak * CANONICAL_RATE / burst.size
    digit = round((peak_hz - _BASE_HZ) / _STEP_HZ)
    if not 0 <= digit <= 9 or abs(peak_hz - _pitch(digit)) > _STEP_HZ / 3:
        return None
    return str(digit)
