"""Voice-activity detection with Silero VAD (its model ships inside the ``silero-vad`` wheel)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceauth_core.audio import CANONICAL_RATE, Audio

__all__ = ["SileroSpeechDetector"]


class SileroSpeechDetector:
    """Keeps the speech segments Silero VAD finds, joined end to end.

    The model keeps state between frames, so calls are serialised on one worker thread.

    Args:
        threshold: Speech probability above which a frame is speech.
        min_speech_ms: Shorter bursts are not speech (clicks, coughs).
        min_silence_ms: Shorter pauses do not split a segment.
        pad_ms: Kept on each side of a segment so word edges survive.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        min_speech_ms: int = 250,
        min_silence_ms: int = 100,
        pad_ms: int = 30,
    ) -> None:
        from silero_vad import load_silero_vad  # noqa: PLC0415 - heavy, only for the real VAD

        self._model: Any = load_silero_vad()
        self._options = {
            "threshold": threshold,
            "min_speech_duration_ms": min_speech_ms,
            "min_silence_duration_ms": min_silence_ms,
            "speech_pad_ms": pad_ms,
        }
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vad")

    def speech_sync(self, audio: Audio) -> Audio:
        """The speech in ``audio`` (16 kHz), on the calling thread."""
        import torch  # noqa: PLC0415
        from silero_vad import get_speech_timestamps  # noqa: PLC0415

        samples: npt.NDArray[np.float32] = audio.samples
        if audio.sample_rate != CANONICAL_RATE or len(samples) < 512:
            return Audio(samples=np.zeros(0, np.float32), sample_rate=audio.sample_rate)
        with torch.inference_mode():
            stamps = get_speech_timestamps(
                torch.from_numpy(np.array(samples)),
                self._model,
                sampling_rate=CANONICAL_RATE,
                **self._options,
            )
        if not stamps:
            return Audio(samples=np.zeros(0, np.float32), sample_rate=CANONICAL_RATE)
        parts = [samples[stamp["start"] : stamp["end"]] for stamp in stamps]
        return Audio(samples=np.concatenate(parts), sample_rate=CANONICAL_RATE)

    async def speech(self, audio: Audio) -> Audio:
        """The speech in ``audio``, computed off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.speech_sync, audio)
