"""A countermeasure by spectral flux: speech changes its spectrum all the time, a tone does not."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import numpy.typing as npt

from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.errors import AudioProcessingError, ModelMismatchError
from voiceauth_core.spoofing import (
    MIN_SPOOF_SPEECH_S,
    SpoofAssessment,
    SpoofCalibration,
    SpoofSegment,
    window_bounds,
)

__all__ = ["FLUX_DETECTOR_ID", "SpectralFluxSpoofDetector"]

FLUX_DETECTOR_ID = "fake-spectral-flux"
_FRAME = 400  # 25 ms
_HOP = 160  # 10 ms
_FLOOR = 1e-3  # -60 dB below the window's loudest bin: quieter bins count as the floor
_REFERENCE_FLUX = 0.05  # the raw score's zero: between tones (~0.01) and speech (~0.2-0.45)


class SpectralFluxSpoofDetector:
    """The ``SpoofDetector`` port by a simple, real rule: unnaturally steady sound is synthetic.

    In each 2 s window (:func:`window_bounds`) it measures the spectral flux, the mean change of
    the log spectrum (floored 60 dB below the loudest bin) from one 10 ms frame to the next.
    Speech, synthetic voices with syllables (``ALICE``, ``BOB``) included, changes constantly;
    a steady tone or hum hardly at all. The raw score is ``log(0.05 / flux)``: about -2 for
    speech, +2 and more for a tone, and highest for digital silence.

    Args:
        calibration: Maps the mean raw score to a probability (default: ``scale=2, offset=0``).
        window_s: The window length in seconds.

    Raises:
        ModelMismatchError: The calibration was fitted for another detector.
    """

    def __init__(
        self, *, calibration: SpoofCalibration | None = None, window_s: float = 2.0
    ) -> None:
        calibration = calibration or SpoofCalibration(
            scale=2.0, offset=0.0, detector_id=FLUX_DETECTOR_ID
        )
        if calibration.detector_id != FLUX_DETECTOR_ID:
            raise ModelMismatchError(
                f"a calibration for {calibration.detector_id!r} cannot calibrate {FLUX_DETECTOR_ID}"
            )
        self._calibration = calibration
        self._window = round(window_s * CANONICAL_RATE)

    @property
    def detector_id(self) -> str:
        """``fake-spectral-flux``."""
        return FLUX_DETECTOR_ID

    async def assess(self, speech: Audio) -> SpoofAssessment:
        """Score each window by its spectral flux, off the event loop.

        Raises:
            AudioProcessingError: Not 16 kHz audio, or less than ``MIN_SPOOF_SPEECH_S`` of it.
        """
        if speech.sample_rate != CANONICAL_RATE:
            raise AudioProcessingError("spoof detection takes 16 kHz audio", reason="bad_rate")
        if speech.duration < MIN_SPOOF_SPEECH_S:
            raise AudioProcessingError(
                f"at least {MIN_SPOOF_SPEECH_S:g} s of speech is needed to assess spoofing",
                reason="too_short",
            )
        return await asyncio.to_thread(self._assess, speech)

    def _assess(self, speech: Audio) -> SpoofAssessment:
        samples = speech.samples
        segments = tuple(
            SpoofSegment(
                start_s=start / CANONICAL_RATE,
                end_s=end / CANONICAL_RATE,
                score=math.log(_REFERENCE_FLUX / (_flux(samples[start:end]) + 1e-6)),
            )
            for start, end in window_bounds(len(samples), self._window)
        )
        return SpoofAssessment.calibrated(
            segments=segments, seconds=speech.duration, calibration=self._calibration
        )


def _flux(samples: npt.NDArray[np.float32]) -> float:
    count = 1 + (len(samples) - _FRAME) // _HOP
    index = np.arange(_FRAME)[None, :] + _HOP * np.arange(count)[:, None]
    spectrum = np.abs(np.fft.rfft(samples[index].astype(np.float64) * np.hanning(_FRAME), axis=1))
    floor = max(float(spectrum.max()) * _FLOOR, 1e-9)
    logs = np.log(np.maximum(spectrum, floor))
    return float(np.mean(np.abs(np.diff(logs, axis=0)))) if count > 1 else 0.0
