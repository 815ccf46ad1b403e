"""Voice-activity detection with Silero VAD, run by ONNX Runtime from the ``silero-vad`` wheel.

The ONNX model shipped inside the wheel is run frame by frame (512 samples at 16 kHz, with the
64-sample context and the recurrent state Silero's own wrapper keeps); the probabilities become
segments by Silero's rule (:mod:`voiceauth_adapters.vad.segments`). The ``silero_vad`` Python
package is never imported: importing it sets torch to one thread for the whole process, over the
operator's ``VOICEAUTH_INFERENCE_THREADS``. Measured against webrtcvad in ``docs/model.md``.
"""

from __future__ import annotations

import asyncio
import importlib.util
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


def silero_model_path() -> Path:
    """The ONNX model inside the installed ``silero-vad`` wheel (found without importing it).

    Raises:
        FileNotFoundError: silero-vad is not installed.
    """
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("silero-vad is not installed (pip install 'voiceauth[model]')")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / _MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"the silero-vad wheel has no {_MODEL_FILE}")
    return path


class SileroSpeechDetector:
    """Keeps the speech segments Silero VAD finds, joined end to end.

    Loads the model when made (about 2 MB; do it once at start-up). Calls may run concurrently:
    each keeps its own recurrent state.

    Args:
        threshold: Speech probability at or above which a frame is speech.
        neg_threshold: Below this a frame is silence inside speech (default ``threshold - 0.15``).
        min_speech_ms: Shorter bursts are not speech (clicks, coughs).
        min_silence_ms: Shorter pauses do not split a segment.
        pad_ms: Kept on each side of a segment so word edges survive.
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

    def probabilities(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Speech probability of each 512-sample frame of 16 kHz audio (the last zero-padded)."""
        count = -(-len(samples) // _FRAME)
        frames = np.zeros((count, _FRAME), np.float32)
        frames.reshape(-1)[: len(samples)] = samples
        state = np.zeros((2, 1, 128), np.float32)
        context = np.zeros((1, _CONTEXT), np.float32)
        rate = np.array(CANONICAL_RATE, dtype=np.int64)
        found = np.empty(count, np.float32)
        for index in range(count):
            window = np.concatenate([context, frames[index : index + 1]], axis=1)
            output, state = self._session.run(None, {"input": window, "state": state, "sr": rate})
            found[index] = output[0, 0]
            context = window[:, -_CONTEXT:]
        return found

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
