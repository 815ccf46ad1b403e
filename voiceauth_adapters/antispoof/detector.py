"""AASIST as the core's ``SpoofDetector``: the ONNX export run by onnxruntime, off the event loop.

Speech is cut as AASIST was trained: windows of 64,600 samples (about 4.04 s at 16 kHz),
consecutive, the last one ending at the end of the speech (:func:`window_bounds`); speech
shorter than a window is repeated to fill it, as AASIST's data loader does, down to
``MIN_SPOOF_SPEECH_S`` (shorter is refused).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.antispoof.export import ensure_export
from voiceauth_adapters.antispoof.manifest import DETECTOR_ID, WINDOW
from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.errors import AudioProcessingError, ModelMismatchError
from voiceauth_core.spoofing import (
    MIN_SPOOF_SPEECH_S,
    SpoofAssessment,
    SpoofCalibration,
    SpoofSegment,
    window_bounds,
)

__all__ = ["AasistDetector", "fill_window"]


def fill_window(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """One window: the first 64,600 samples, or shorter speech repeated (AASIST's ``pad``)."""
    if len(samples) >= WINDOW:
        return samples[:WINDOW]
    repeated: npt.NDArray[np.float32] = np.tile(samples, WINDOW // len(samples) + 1)[:WINDOW]
    return repeated


class AasistDetector:
    """AASIST (ASVspoof 2019 LA) scores in onnxruntime, calibrated into a probability.

    Build it with :meth:`load`. :meth:`scores` is the synchronous compute (speech in, one raw
    score per window out); :meth:`assess` runs it in a worker thread (``asyncio.to_thread``).

    Args:
        session: An onnxruntime session of the export (:mod:`voiceauth_adapters.antispoof.export`).
        calibration: Fitted on this detector's scores (see ``antispoof.calibration``).

    Raises:
        ModelMismatchError: The calibration was fitted for another detector.
    """

    def __init__(self, session: Any, *, calibration: SpoofCalibration) -> None:
        if calibration.detector_id != DETECTOR_ID:
            raise ModelMismatchError(
                f"a calibration for {calibration.detector_id!r} cannot calibrate {DETECTOR_ID}"
            )
        self._session = session
        self._calibration = calibration

    @classmethod
    def load(
        cls, weights: Path, *, export_dir: Path, calibration: SpoofCalibration, threads: int = 1
    ) -> AasistDetector:
        """Verify the weights, export them to ONNX once, open an onnxruntime session.

        Args:
            weights: The published ``AASIST.pth`` (see ``resolve_weights``).
            export_dir: Where the ONNX export is cached (see ``export_dir_for``).
            calibration: Maps the mean raw score to a probability; required, since the raw
                scale means nothing on its own (``shipped_calibration()`` once one ships).
            threads: onnxruntime intra-op threads per call.

        Raises:
            ModelUnavailableError: The weights are missing or fail their SHA-256 check.
            ModelMismatchError: The calibration was fitted for another detector.
        """
        if calibration.detector_id != DETECTOR_ID:  # before the expensive part
            raise ModelMismatchError(
                f"a calibration for {calibration.detector_id!r} cannot calibrate {DETECTOR_ID}"
            )
        path, _ = ensure_export(weights, export_dir)
        from voiceauth_adapters.onnx.sessions import cpu_session  # noqa: PLC0415

        session, _ = cpu_session(
            path, threads=threads, remake=lambda: ensure_export(weights, export_dir)[0]
        )
        return cls(session, calibration=calibration)

    @property
    def detector_id(self) -> str:
        """``aasist-asvspoof2019-la@`` and the weights' SHA-256 prefix."""
        return DETECTOR_ID

    def scores(self, samples: npt.NDArray[np.float32]) -> list[tuple[int, int, float]]:
        """``(start, end, raw score)`` for each window of 16 kHz speech, in order."""
        rows = []
        for start, end in window_bounds(len(samples), WINDOW):
            window = fill_window(samples[start:end])[None, :]
            (output,) = self._session.run(["score"], {"waveform": window})
            rows.append((start, end, float(np.asarray(output).reshape(-1)[0])))
        return rows

    async def assess(self, speech: Audio) -> SpoofAssessment:
        """Score each window of ``speech`` in a worker thread, and calibrate their mean.

        Raises:
            AudioProcessingError: Not 16 kHz audio (``bad_rate``), or less than
                ``MIN_SPOOF_SPEECH_S`` of it (``too_short``).
        """
        if speech.sample_rate != CANONICAL_RATE:
            raise AudioProcessingError(
                f"spoof detection needs {CANONICAL_RATE} Hz audio, not {speech.sample_rate} Hz",
                reason="bad_rate",
            )
        if speech.duration < MIN_SPOOF_SPEECH_S:
            raise AudioProcessingError(
                f"at least {MIN_SPOOF_SPEECH_S:g} s of speech is needed to assess spoofing",
                reason="too_short",
            )
        rows = await asyncio.to_thread(self.scores, speech.samples)
        segments = tuple(
            SpoofSegment(start_s=start / CANONICAL_RATE, end_s=end / CANONICAL_RATE, score=score)
            for start, end, score in rows
        )
        return SpoofAssessment.calibrated(
            segments=segments, seconds=speech.duration, calibration=self._calibration
        )
