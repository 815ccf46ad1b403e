"""The embedding backends by name: what ``VOICEAUTH_INFERENCE`` selects.

Both compute the official ECAPA-TDNN embedding of the same verified checkpoint, with the same
model id (templates enrolled with one verify with the other):

- ``onnx`` (the default): SpeechBrain's features in torch, the embedding network exported once to
  ONNX and run by onnxruntime; about twice as fast on the CPU (``benchmarks/embed_backends.py``);
- ``onnx-int8``: the same with the network's convolutions in 8 bits
  (:mod:`voiceauth_adapters.onnx.quantized`); faster again on CPUs with VNNI, and close to the
  fp32 embeddings rather than equal to them (``docs/performance.md`` has both side by side);
- ``speechbrain``: SpeechBrain's ``EncoderClassifier`` itself, the reference and the fallback.
"""

from __future__ import annotations

from pathlib import Path

from voiceauth_adapters.inference.pool import BatchEmbedder

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "backend_variant", "load_embedder"]

BACKENDS = ("onnx", "onnx-int8", "speechbrain")
DEFAULT_BACKEND = "onnx"


def load_embedder(backend: str, model_dir: Path, *, cache_dir: Path, threads: int) -> BatchEmbedder:
    """Load the named backend over the verified files in ``model_dir``.

    Args:
        backend: One of :data:`BACKENDS`.
        model_dir: A folder holding the five official files (checked again here).
        cache_dir: Where the ONNX export is kept when ``model_dir`` is not writable.
        threads: Compute threads per call (0: one per usable core).

    Raises:
        ValueError: An unknown backend name.
        ModelUnavailableError: A model file is missing or fails its SHA-256 check.
    """
    if backend in ("onnx", "onnx-int8"):
        from voiceauth_adapters.onnx import OnnxEcapa, export_dir_for  # noqa: PLC0415

        return OnnxEcapa.load(
            model_dir,
            export_dir=export_dir_for(model_dir, cache_dir),
            threads=threads,
            int8=backend == "onnx-int8",
        )
    if backend == "speechbrain":
        from voiceauth_adapters.speechbrain import SpeechBrainEcapa  # noqa: PLC0415

        return SpeechBrainEcapa.load(model_dir, threads=threads)
    raise ValueError(f"unknown inference backend {backend!r} (one of {', '.join(BACKENDS)})")


def backend_variant(backend: str) -> str:
    """What computes the embeddings, as a name for caches of them: the backend and its graph.

    Raises:
        ValueError: An unknown backend name.
    """
    if backend == "onnx":
        from voiceauth_adapters.onnx.ecapa import GRAPH_VERSION  # noqa: PLC0415

        return f"onnx-g{GRAPH_VERSION}"
    if backend == "onnx-int8":
        from voiceauth_adapters.onnx.ecapa import GRAPH_VERSION  # noqa: PLC0415
        from voiceauth_adapters.onnx.quantized import ranges_digest  # noqa: PLC0415

        return f"onnx-g{GRAPH_VERSION}-int8-{ranges_digest()}"
    if backend == "speechbrain":
        return backend
    raise ValueError(f"unknown inference backend {backend!r} (one of {', '.join(BACKENDS)})")
