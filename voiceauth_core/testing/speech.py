"""A voice-activity detector by frame energy."""

from __future__ import annotations

import numpy as np

from voiceauth_core.audio import Audio

__all__ = ["EnergySpeechDetector"]


class EnergySpeechDetector:
    """Keeps the 30 ms frames louder than an absolute floor and a fraction of the loudest frames.

    Args:
        floor_rms: Frames quieter than this are never speech (about -50 dBFS).
        relative: Frames quieter than this fraction of the 95th-percentile frame are not speech.
    """

    def __init__(self, *, floor_rms: float = 3e-3, relative: float = 0.1) -> None:
        self._floor = floor_rms
        self._relative = relative

    async def speech(self, audio: Audio) -> Audio:
        """The loud frames of ``audio`` joined end to end."""
        frame = int(0.03 * audio.sample_rate)
        count = len(audio.samples) // frame
        if count == 0:
            return Audio(samples=np.zeros(0, np.float32), sample_rate=audio.sample_rate)
        frames = audio.samples[: count * frame].reshape(count, frame)
        rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
        level = max(self._floor, self._relative * float(np.percentile(rms, 95)))
        return Audio(samples=frames[rms >= level].reshape(-1), sample_rate=audio.sample_rate)
