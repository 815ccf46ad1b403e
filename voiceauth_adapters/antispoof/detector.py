"""AASIST as the core's ``SpoofDetector``: the ONNX export run by onnxruntime, off the event loop.

Speech is first set to one level (:func:`normalise_level`: RMS -26 dBFS), then cut as AASIST
was trained: windows of 64,600 samples (about 4.04 s at 16 kHz), consecutive, the last one
ending at the end of the speech (:func:`window_bounds`); speech shorter than a window is
repeated to fill it, as AASIST's data loader does, down to ``MIN_SPOOF_SPEECH_S`` (shorter is
refused).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.antispoof.band import log_high_band
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

if TYPE_CHECKING:
    from voiceauth_adapters.antispoof.backend import SpoofBackend
    from voiceauth_adapters.inference.pool import WorkerPool

__all__ = ["SPEECH_LEVEL_DBFS", "AasistDetector", "fill_window", "normalise_level"]

#: The RMS level speech is set to before AASIST hears it: telephony's nominal speech level
#: (ITU-T P.56's -26 dBov), chosen, not fitted. AASIST reads loudness as evidence: the same spoof
#: played 12 dB quieter scored about 8 lower, and its EER against genuine calls went from 14 %
#: to 42 % (docs/spoofing.md). A caller's level is theirs to choose, so it is taken away.
SPEECH_LEVEL_DBFS = -26.0
#: The largest magnitude a normalised sample may reach: louder peaks lower the gain instead.
_CEILING = 0.99


def normalise_level(
    samples: npt.NDArray[np.float32], dbfs: float = SPEECH_LEVEL_DBFS
) -> npt.NDArray[np.float32]:
    """``samples`` scaled to an RMS of ``dbfs``, the gain lowered where a peak would pass
    :data:`_CEILING` (never clipped); silence is returned as it is."""
    values = samples.astype(np.float64)
    rms = float(np.sqrt(np.mean(np.square(values)))) if values.size else 0.0
    if rms <= 0.0:
        return samples
    gain = 10.0 ** (dbfs / 20.0) / rms
    peak = float(np.max(np.abs(values))) * gain
    if peak > _CEILING:
        gain *= _CEILING / peak
    scaled: npt.NDArray[np.float32] = (values * gain).astype(np.float32)
    return scaled


def fill_window(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """One window: the first 64,600 samples, or shorter speech repeated (AASIST's ``pad``)."""
    if len(samples) >= WINDOW:
        return samples[:WINDOW]
    repeated: npt.NDArray[np.float32] = np.tile(samples, WINDOW // len(samples) + 1)[:WINDOW]
    return repeated


class AasistDetector:
    """AASIST (ASVspoof 2019 LA) scores in onnxruntime, calibrated into a probability.

    Build it with :meth:`load`. :meth:`scores` is the synchronous compute (speech in, one raw
    network score per window out); :meth:`assess` sets the speech's level, then runs it in a
    worker thread: one of ``workers`` (the service passes the speaker model's pool, so the two
    networks share the cores and the bounded wait), else ``asyncio.to_thread``. With a
    ``backend`` (``antispoof.backend``), each window's score is the back-end's: its raw score
    weighed with how far the call's hidden representation lies from genuine speech of the same
    kind of line; the detector's id then names the back-end too.

    Args:
        session: An onnxruntime session of the export (:mod:`voiceauth_adapters.antispoof.export`).
        calibration: Fitted on this detector's scores (see ``antispoof.calibration``), with the
            same ``level_dbfs`` and back-end.
        level_dbfs: The RMS level :meth:`assess` sets speech to (None: as it comes, which only
            the evaluation's before/after comparison wants).
        workers: The worker pool assessments run in (None: ``asyncio.to_thread``).
        backend: The back-end on the network's outputs (None: the network's raw score).

    Raises:
        ModelMismatchError: The calibration was fitted for another detector (or back-end), or
            the back-end for other weights.
    """

    def __init__(
        self,
        session: Any,
        *,
        calibration: SpoofCalibration,
        level_dbfs: float | None = SPEECH_LEVEL_DBFS,
        workers: WorkerPool | None = None,
        backend: SpoofBackend | None = None,
    ) -> None:
        _check_ids(calibration, backend)
        self._session = session
        self._calibration = calibration
        self._level_dbfs = level_dbfs
        self._workers = workers
        self._backend = backend

    @classmethod
    def load(
        cls,
        weights: Path,
        *,
        export_dir: Path,
        calibration: SpoofCalibration,
        threads: int = 1,
        level_dbfs: float | None = SPEECH_LEVEL_DBFS,
        workers: WorkerPool | None = None,
        backend: SpoofBackend | None = None,
    ) -> AasistDetector:
        """Verify the weights, export them to ONNX once, open an onnxruntime session.

        Args:
            weights: The published ``AASIST.pth`` (see ``resolve_weights``).
            export_dir: Where the ONNX export is cached (see ``export_dir_for``).
            calibration: Maps the mean raw score to a probability; required, since the raw
                scale means nothing on its own (``shipped_calibration()`` once one ships).
            threads: onnxruntime intra-op threads per call.
            level_dbfs: The level speech is set to first (None: none; see the class).
            workers: The worker pool assessments run in (None: ``asyncio.to_thread``).
            backend: The back-end on the network's outputs (``shipped_backend()``), or None.

        Raises:
            ModelUnavailableError: The weights are missing or fail their SHA-256 check.
            ModelMismatchError: The calibration was fitted for another detector (or back-end).
        """
        _check_ids(calibration, backend)  # before the expensive part
        path, _ = ensure_export(weights, export_dir)
        from voiceauth_adapters.onnx.sessions import cpu_session  # noqa: PLC0415

        session, _ = cpu_session(
            path, threads=threads, remake=lambda: ensure_export(weights, export_dir)[0]
        )
        return cls(
            session,
            calibration=calibration,
            level_dbfs=level_dbfs,
            workers=workers,
            backend=backend,
        )

    @property
    def detector_id(self) -> str:
        """``aasist-asvspoof2019-la@`` and the weights' SHA-256 prefix (``+`` the back-end's
        name when there is one)."""
        return DETECTOR_ID if self._backend is None else self._backend.scored_id

    @property
    def front_end(self) -> str:
        """What :meth:`assess` does to speech before the network, for score caches:
        ``rms-26dBFS``, or ``none``."""
        return "none" if self._level_dbfs is None else f"rms{self._level_dbfs:+g}dBFS"

    def scores(self, samples: npt.NDArray[np.float32]) -> list[tuple[int, int, float]]:
        """``(start, end, raw network score)`` for each window of 16 kHz speech, in order (no
        level step, no back-end)."""
        return [
            (start, end, self._raw_window(samples[start:end]))
            for start, end in window_bounds(len(samples), WINDOW)
        ]

    def hidden(
        self, samples: npt.NDArray[np.float32]
    ) -> list[tuple[int, int, float, npt.NDArray[np.float32]]]:
        """``(start, end, raw score, hidden representation)`` for each window of 16 kHz speech
        as :meth:`assess` hears it (its level set first): what a back-end is fitted on."""
        if self._level_dbfs is not None:
            samples = normalise_level(samples, self._level_dbfs)
        found = []
        for start, end in window_bounds(len(samples), WINDOW):
            score, hidden = self._session.run(
                ["score", "hidden"], {"waveform": fill_window(samples[start:end])[None, :]}
            )
            found.append(
                (
                    start,
                    end,
                    float(np.asarray(score).reshape(-1)[0]),
                    np.asarray(hidden, dtype=np.float32).reshape(-1),
                )
            )
        return found

    def _raw_window(self, piece: npt.NDArray[np.float32]) -> float:
        (output,) = self._session.run(["score"], {"waveform": fill_window(piece)[None, :]})
        return float(np.asarray(output).reshape(-1)[0])

    def _window_outputs(
        self, piece: npt.NDArray[np.float32]
    ) -> tuple[float, npt.NDArray[np.float32] | None]:
        """The window's raw score, and its hidden representation when a back-end reads it."""
        if self._backend is None:
            return self._raw_window(piece), None
        raw, hidden = self._session.run(
            ["score", "hidden"], {"waveform": fill_window(piece)[None, :]}
        )
        return float(np.asarray(raw).reshape(-1)[0]), np.asarray(hidden, np.float32).reshape(-1)

    def _windows_outputs(
        self, pieces: list[npt.NDArray[np.float32]]
    ) -> list[tuple[float, npt.NDArray[np.float32] | None]]:
        return [self._window_outputs(piece) for piece in pieces]

    async def _outputs(
        self, pieces: list[npt.NDArray[np.float32]]
    ) -> list[tuple[float, npt.NDArray[np.float32] | None]]:
        if self._workers is None:
            return await asyncio.to_thread(self._windows_outputs, pieces)
        return await self._workers.run(self._windows_outputs, pieces)

    def _window_scores(
        self, outputs: list[tuple[float, npt.NDArray[np.float32] | None]], line: str
    ) -> list[float]:
        """The windows' scores: raw, or the back-end's from the raw scores and the hidden
        representations of the whole call."""
        raw = [score for score, _ in outputs]
        if self._backend is None:
            return raw
        hidden = [vector for _, vector in outputs if vector is not None]
        return self._backend.scores(raw, hidden, line=line)

    async def assess(self, speech: Audio) -> SpoofAssessment:
        """Set ``speech`` to one level, score its windows in worker threads (side by side),
        and calibrate their mean.

        Raises:
            AudioProcessingError: Not 16 kHz audio (``bad_rate``), or less than
                ``MIN_SPOOF_SPEECH_S`` of it (``too_short``).
            ServiceBusyError: The worker pool stayed full past its wait.
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
        samples = speech.samples
        # The line is told before the level step (a gain does not move the share anyway).
        line = "wide" if self._backend is None else self._backend.line(log_high_band(speech))
        if self._level_dbfs is not None:
            samples = normalise_level(samples, self._level_dbfs)
        bounds = window_bounds(len(samples), WINDOW)
        # The windows are shared out over the pool's workers and run side by side: a call's
        # two windows take the time of one on an idle 2-core machine, at the same CPU cost.
        # Never more groups than workers, so that an assessment never waits on itself.
        groups = min(len(bounds), 1 if self._workers is None else self._workers.workers)
        shares = [bounds[i::groups] for i in range(groups)]
        found = await asyncio.gather(
            *(self._outputs([samples[a:b] for a, b in share]) for share in shares)
        )
        by_window = {
            window: output
            for share, outputs in zip(shares, found, strict=True)
            for window, output in zip(share, outputs, strict=True)
        }
        scores = self._window_scores([by_window[window] for window in bounds], line)
        segments = tuple(
            SpoofSegment(start_s=start / CANONICAL_RATE, end_s=end / CANONICAL_RATE, score=score)
            for (start, end), score in zip(bounds, scores, strict=True)
        )
        return SpoofAssessment.calibrated(
            segments=segments, seconds=speech.duration, calibration=self._calibration
        )


def _check_ids(calibration: SpoofCalibration, backend: SpoofBackend | None) -> None:
    """The back-end must read these weights, and the calibration must be of the scores made."""
    if backend is not None and backend.detector_id != DETECTOR_ID:
        raise ModelMismatchError(
            f"a back-end of {backend.detector_id!r} cannot read the outputs of {DETECTOR_ID}"
        )
    scored = DETECTOR_ID if backend is None else backend.scored_id
    if calibration.detector_id != scored:
        raise ModelMismatchError(
            f"a calibration for {calibration.detector_id!r} cannot calibrate {scored}"
        )
