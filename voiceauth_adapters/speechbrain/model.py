"""The ECAPA-TDNN speaker model through SpeechBrain, as the core's ``EmbeddingModel``."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.speechbrain.manifest import MODEL_ID, verify_model_dir
from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.embedding import Embedding
from voiceauth_core.errors import AudioProcessingError

__all__ = ["MIN_SAMPLES", "SpeechBrainEcapa"]

#: The shortest input embedded (0.1 s): the network's receptive field needs a few frames.
MIN_SAMPLES = CANONICAL_RATE // 10

_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """The hub libraries offline while loading: the service never calls a model hub."""
    saved = {key: os.environ.get(key) for key in _OFFLINE}
    os.environ.update(_OFFLINE)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class SpeechBrainEcapa:
    """Speaker embeddings from SpeechBrain's ``spkrec-ecapa-voxceleb`` (192 dimensions).

    Build it once per process with :meth:`load`. :meth:`embed_batch` is the synchronous compute
    (a batch in, unit vectors out); :meth:`embed` runs it off the event loop on the model's own
    worker thread.
    """

    def __init__(self, encoder: Any, *, threads: int, workers: int = 1) -> None:
        self._encoder = encoder
        self._threads = threads
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ecapa")

    @classmethod
    def load(cls, model_dir: Path, *, threads: int = 0, workers: int = 1) -> SpeechBrainEcapa:
        """Verify the files in ``model_dir`` and load the model on the CPU.

        Args:
            model_dir: A folder holding the five official files (see ``resolve_model``).
            threads: torch intra-op threads (0: one per core).
            workers: Inference calls that may run at once.

        Raises:
            ModelUnavailableError: A file is missing or fails its SHA-256 check.
        """
        verify_model_dir(model_dir)
        import torch  # noqa: PLC0415 - heavy, and only for the real model
        from speechbrain.inference.speaker import EncoderClassifier  # noqa: PLC0415
        from speechbrain.utils.fetching import FetchConfig, LocalStrategy  # noqa: PLC0415

        count = threads or _usable_cores()
        torch.set_num_threads(count)
        with _offline():
            # The cached hyperparams.yaml is read as is: an override points its pretrainer at the
            # folder, NO_LINK reads the files in place (the folder may be read-only), and no
            # network access is allowed whatever the hub libraries' settings.
            encoder = EncoderClassifier.from_hparams(
                source=str(model_dir),
                savedir=str(model_dir),
                overrides={"pretrained_path": str(model_dir)},
                run_opts={"device": "cpu"},
                local_strategy=LocalStrategy.NO_LINK,
                fetch_config=FetchConfig(allow_network=False, allow_updates=False),
            )
        encoder.eval()
        return cls(encoder, threads=count, workers=workers)

    @property
    def model_id(self) -> str:
        """``speechbrain/spkrec-ecapa-voxceleb@`` and the embedding network's SHA-256 prefix."""
        return MODEL_ID

    def embed_batch(self, batch: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float64]:
        """Embed several 16 kHz recordings in one forward pass; one unit vector per row.

        The recordings are zero-padded to the longest and passed with their relative lengths,
        as ``[batch, time]``, which is what SpeechBrain's ``encode_batch`` expects.
        """
        import torch  # noqa: PLC0415

        if not batch or min(len(samples) for samples in batch) < MIN_SAMPLES:
            raise AudioProcessingError("too little speech to embed", reason="too_short")
        if torch.get_num_threads() != self._threads:
            # torch's thread count is process-wide: something imported later may have changed it
            # (silero_vad's package sets one thread on import).
            torch.set_num_threads(self._threads)
        longest = max(len(samples) for samples in batch)
        padded = np.zeros((len(batch), longest), np.float32)
        for row, samples in enumerate(batch):
            padded[row, : len(samples)] = samples
        lengths = torch.tensor([len(samples) / longest for samples in batch], dtype=torch.float32)
        with torch.inference_mode():
            output = self._encoder.encode_batch(torch.from_numpy(padded), lengths)
        vectors: npt.NDArray[np.float64] = output.reshape(len(batch), -1).numpy().astype(np.float64)
        norms: npt.NDArray[np.float64] = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / norms

    async def embed(self, audio: Audio) -> Embedding:
        """The speaker embedding of 16 kHz speech, computed off the event loop.

        Raises:
            AudioProcessingError: The audio is at another rate or shorter than 0.1 s.
        """
        if audio.sample_rate != CANONICAL_RATE:
            raise AudioProcessingError(
                f"the model needs {CANONICAL_RATE} Hz audio, not {audio.sample_rate} Hz",
                reason="bad_rate",
            )
        if len(audio.samples) < MIN_SAMPLES:
            raise AudioProcessingError("too little speech to embed", reason="too_short")
        loop = asyncio.get_running_loop()
        vectors = await loop.run_in_executor(self._executor, self.embed_batch, [audio.samples])
        return Embedding.from_vector(vectors[0], MODEL_ID)

    def close(self) -> None:
        """Stop the worker thread (waits for a running inference)."""
        self._executor.shutdown(wait=True)
