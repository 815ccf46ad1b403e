"""Voice-activity detection with Silero VAD, run by ONNX Runtime from the ``silero-vad`` wheel.

The ONNX model shipped inside the wheel is run frame by frame (512 samples at 16 kHz, with the
64-sample context and the recurrent state Silero's own wrapper keeps); the probabilities become
segments by Silero's rule (:mod:`voiceauth_adapters.vad.segments`). The ``silero_vad`` Python
package is never imported: importing it sets torch to one thread for the whole process, over the
operator's ``VOICEAUTH_INFERENCE_THREADS``. Measured against webrtcvad in ``docs/model.md``.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.vad.segments import SegmentRule, speech_segments
from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.errors import AudioProcessingError

__all__ = ["SileroSpeechDetector", "silero_model_path"]

_FRAME = 512  # samples per probability at 16 kHz
_CONTEXT = 64  # samples of the previous frame the model sees in front of each frame
_MODEL_FILE = "silero_vad.onnx"
_RECENT = 64  # recordings remembered to resume from (a few KB each)


def _digest(samples: npt.NDArray[np.float32]) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(samples).data, digest_size=16).digest()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Resume:
    """Where the frames of a recording were left: enough to go on with a longer one."""

    frames: int  # whole frames computed
    digest: bytes  # of those frames' samples
    probabilities: npt.NDArray[np.float32]  # one per frame
    state: npt.NDArray[np.float32]  # Silero's recurrent state after the last of them
    context: npt.NDArray[np.float32]  # and the last 64 samples, its context for the next


def silero_model_path() -> Path:
    """The ONNX model inside the installed ``silero-vad`` wheel (found without importing it).

    Raises:
        FileNotFoundError: silero-vad is not installed.
    """
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("silero-vad is not installed (pip install 'voiceauth-vapi[model]')")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / _MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"the silero-vad wheel has no {_MODEL_FILE}")
    return path


class SileroSpeechDetector:
    """Keeps the speech segments Silero VAD finds, joined end to end.

    Loads the model when made (about 2 MB; do it once at start-up). Calls may run concurrently:
    each keeps its own recurrent state, and the last ``remember`` recordings' final states are
    kept so that a recording that goes on from one of them only costs its new frames.

    Args:
        threshold: Speech probability at or above which a frame is speech.
        neg_threshold: Below this a frame is silence inside speech (default ``threshold - 0.15``).
        min_speech_ms: Shorter bursts are not speech (clicks, coughs).
        min_silence_ms: Shorter pauses do not split a segment.
        pad_ms: Kept on each side of a segment so word edges survive.
        remember: Recordings whose last state is kept to resume from (0: none).
        model_path: The ONNX file (default: the one in the silero-vad wheel).
    """

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        neg_threshold: float | None = None,
        min_speech_ms: int = 250,
        min_silence_ms: int = 100,
        pad_ms: int = 30,
        remember: int = _RECENT,
        model_path: Path | None = None,
    ) -> None:
        import onnxruntime  # noqa: PLC0415 - only for the real detector

        options = onnxruntime.SessionOptions()
        # One frame is a few microseconds of work: more threads only add hand-over cost.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session: Any = onnxruntime.InferenceSession(
            str(model_path or silero_model_path()),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        per_ms = CANONICAL_RATE // 1000
        self._rule = SegmentRule(
            frame=_FRAME,
            threshold=threshold,
            neg_threshold=max(threshold - 0.15, 0.01) if neg_threshold is None else neg_threshold,
            min_speech=min_speech_ms * per_ms,
            min_silence=min_silence_ms * per_ms,
            pad=pad_ms * per_ms,
        )
        self._lock = threading.Lock()
        self._recent: deque[_Resume] = deque(maxlen=remember)

    def probabilities(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Speech probability of each 512-sample frame of 16 kHz audio (the last zero-padded).

        Silero is causal: a frame's probability depends only on the frames before it. When
        ``samples`` begins with a recording seen recently (a live capture checked again after
        another second, the same test against several enrolments), its frames are not computed
        again: the recurrent state is picked up where that recording's last whole frame left it.
        The result is the same, to the bit, as computing every frame.
        """
        count = -(-len(samples) // _FRAME)
        whole = len(samples) // _FRAME
        resume = self._resume_point(samples)
        done = 0 if resume is None else resume.frames
        frames = np.zeros((count - done, _FRAME), np.float32)
        frames.reshape(-1)[: len(samples) - done * _FRAME] = samples[done * _FRAME :]
        if resume is None:
            state = np.zeros((2, 1, 128), np.float32)
            context = np.zeros((1, _CONTEXT), np.float32)
        else:
            state, context = resume.state, resume.context
        rate = np.array(CANONICAL_RATE, dtype=np.int64)
        found = np.empty(count, np.float32)
        if resume is not None:
            found[:done] = resume.probabilities
        for index in range(done, count):
            if index == whole and whole > done:
                self._remember(samples, whole, found[:whole], state, context)
            window = np.concatenate([context, frames[index - done : index - done + 1]], axis=1)
            output, state = self._session.run(None, {"input": window, "state": state, "sr": rate})
            found[index] = output[0, 0]
            context = window[:, -_CONTEXT:]
        if whole == count and whole > done:
            self._remember(samples, whole, found, state, context)
        return found

    def _resume_point(self, samples: npt.NDArray[np.float32]) -> _Resume | None:
        """The longest remembered recording ``samples`` begins with, if any."""
        with self._lock:
            candidates = sorted(self._recent, key=lambda r: r.frames, reverse=True)
        for resume in candidates:
            end = resume.frames * _FRAME
            if end > len(samples):
                continue
            # The context (the prefix's last 64 samples) rules out almost every stranger at
            # once; the digest of the whole prefix decides.
            if not np.array_equal(resume.context[0], samples[end - _CONTEXT : end]):
                continue
            if _digest(samples[:end]) == resume.digest:
                return resume
        return None

    def _remember(
        self,
        samples: npt.NDArray[np.float32],
        frames: int,
        probabilities: npt.NDArray[np.float32],
        state: npt.NDArray[np.float32],
        context: npt.NDArray[np.float32],
    ) -> None:
        if not self._recent.maxlen:
            return
        resume = _Resume(
            frames=frames,
            digest=_digest(samples[: frames * _FRAME]),
            probabilities=probabilities[:frames].copy(),
            state=state.copy(),
            context=context.copy(),
        )
        with self._lock:
            self._recent.append(resume)

    def segments(self, audio: Audio) -> list[tuple[int, int]]:
        """The speech segments of 16 kHz audio as ``(start, end)`` sample indices.

        Raises:
            AudioProcessingError: The audio is not at 16 kHz.
        """
        if audio.sample_rate != CANONICAL_RATE:
            raise AudioProcessingError(
                f"speech detection needs {CANONICAL_RATE} Hz audio, not {audio.sample_rate} Hz",
                reason="bad_rate",
            )
        if len(audio.samples) == 0:
            return []
        probabilities = self.probabilities(audio.samples)
        return speech_segments(probabilities.tolist(), len(audio.samples), self._rule)

    def speech_sync(self, audio: Audio) -> Audio:
        """The speech in ``audio`` joined end to end, on the calling thread."""
        parts = [audio.samples[start:end] for start, end in self.segments(audio)]
        if not parts:
            return Audio(samples=np.zeros(0, np.float32), sample_rate=audio.sample_rate)
        return Audio(samples=np.concatenate(parts), sample_rate=audio.sample_rate)

    async def speech(self, audio: Audio) -> Audio:
        """The speech in ``audio``, found off the event loop; its duration is the net speech.

        Raises:
            AudioProcessingError: The audio is not at 16 kHz.
        """
        return await asyncio.to_thread(self.speech_sync, audio)
