"""Memoising wrappers of the model and the speech detector, so each clip is embedded once."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np

from voiceauth_core.audio import Audio
from voiceauth_core.embedding import Embedding
from voiceauth_core.ports import EmbeddingModel, SpeechDetector

__all__ = ["CachedModel", "CachedSpeechDetector", "audio_digest"]


def audio_digest(audio: Audio) -> str:
    """A content hash of the samples and their rate."""
    digest = hashlib.sha256(str(audio.sample_rate).encode())
    digest.update(np.ascontiguousarray(audio.samples).tobytes())
    return digest.hexdigest()


class CachedModel:
    """An :class:`EmbeddingModel` that remembers every embedding by the audio's content hash.

    With a ``directory`` the embeddings persist across runs in one ``.npz`` file per model id and
    backend, written by :meth:`save`; the same audio then never reaches the model twice.

    Args:
        model: The model that embeds what is not cached yet.
        directory: Where to keep the cache, or None for memory only.
        variant: What computed the embeddings besides the model id (the inference backend):
            backends share a model id but each keeps its own file, so that an evaluation of one
            never reads the other's embeddings. The reference backend's file keeps its old name.
    """

    def __init__(
        self, model: EmbeddingModel, directory: Path | None = None, *, variant: str = "speechbrain"
    ) -> None:
        self._model = model
        self._path = None
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        self.computed = 0
        if directory is not None:
            key = model.model_id if variant == "speechbrain" else f"{model.model_id}|{variant}"
            name = hashlib.sha256(key.encode()).hexdigest()[:16]
            self._path = directory / f"embeddings-{name}.npz"
            if self._path.exists():
                with np.load(self._path) as data:
                    keys, vectors = data["keys"], data["vectors"]
                self._vectors = {str(k): v for k, v in zip(keys, vectors, strict=True)}

    @property
    def model_id(self) -> str:
        """The wrapped model's id."""
        return self._model.model_id

    async def embed(self, audio: Audio) -> Embedding:
        """The cached embedding of ``audio``, computed on first sight."""
        key = audio_digest(audio)
        vector = self._vectors.get(key)
        if vector is None:
            embedding = await self._model.embed(audio)
            self._vectors[key] = np.asarray(embedding.vector, dtype=np.float32)
            self._dirty = True
            self.computed += 1
            return embedding
        return Embedding.from_vector(vector, self._model.model_id)

    def save(self) -> None:
        """Write the cache file if anything new was computed (atomically, by rename)."""
        if self._path is None or not self._dirty:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_suffix(".partial.npz")
        keys = np.array(list(self._vectors), dtype=str)
        vectors = np.stack(list(self._vectors.values())).astype(np.float32)
        np.savez(partial, keys=keys, vectors=vectors)
        partial.replace(self._path)
        self._dirty = False


class CachedSpeechDetector:
    """A :class:`SpeechDetector` that remembers its last ``size`` answers by content hash.

    Args:
        detector: The detector that finds speech in what is not cached.
        size: How many answers to keep (least recently used are dropped).
    """

    def __init__(self, detector: SpeechDetector, *, size: int = 256) -> None:
        self._detector = detector
        self._size = size
        self._answers: OrderedDict[str, Audio] = OrderedDict()

    async def speech(self, audio: Audio) -> Audio:
        """The cached speech of ``audio``, found on first sight."""
        key = audio_digest(audio)
        found = self._answers.get(key)
        if found is not None:
            self._answers.move_to_end(key)
            return found
        found = await self._detector.speech(audio)
        self._answers[key] = found
        if len(self._answers) > self._size:
            self._answers.popitem(last=False)
        return found
