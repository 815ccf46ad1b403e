"""A deterministic embedding model: the voice's long-term log spectrum on a mel scale."""

from __future__ import annotations

import numpy as np

from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.embedding import Embedding
from voiceauth_core.errors import AudioProcessingError

__all__ = ["SpectralEmbeddingModel"]

_FRAME = 512
_HOP = 256


def _mel(hz: float) -> float:
    return float(2595.0 * np.log10(1 + hz / 700.0))


class SpectralEmbeddingModel:
    """Embeds audio as its long-term average log spectrum sampled on a mel scale.

    The same signal always gives the same embedding; voices with other pitch and formants
    give clearly lower similarity. The mean is removed so loudness does not matter.

    Args:
        dimension: Embedding size (192, like ECAPA-TDNN).
        model_id: The id recorded with each embedding.
    """

    def __init__(self, *, dimension: int = 192, model_id: str = "fake/spectral-v1") -> None:
        self._dimension = dimension
        self._model_id = model_id
        self._freqs = np.fft.rfftfreq(_FRAME, 1 / CANONICAL_RATE)
        mel = np.linspace(_mel(60.0), _mel(7600.0), dimension)
        self._points = 700.0 * (10 ** (mel / 2595.0) - 1)
        self.calls = 0

    @property
    def model_id(self) -> str:
        """The fake's id."""
        return self._model_id

    async def embed(self, audio: Audio) -> Embedding:
        """The embedding of audio at 16 kHz with at least one frame (32 ms)."""
        self.calls += 1
        if audio.sample_rate != CANONICAL_RATE:
            raise AudioProcessingError("the model needs 16 kHz audio", reason="bad_rate")
        if len(audio.samples) < _FRAME:
            raise AudioProcessingError("too little audio to embed", reason="too_short")
        count = 1 + (len(audio.samples) - _FRAME) // _HOP
        index = np.arange(_FRAME)[None, :] + _HOP * np.arange(count)[:, None]
        frames = audio.samples[index] * np.hanning(_FRAME)[None, :]
        power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
        log_power = np.log(power + 1e-10)
        envelope = np.interp(self._points, self._freqs, log_power)
        return Embedding.from_vector(envelope - envelope.mean(), self._model_id)
