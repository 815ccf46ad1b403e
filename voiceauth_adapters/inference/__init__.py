"""Inference machinery shared by the embedding backends: the backends by name, a bounded pool.

Importing this package imports neither torch nor onnxruntime.
"""

from voiceauth_adapters.inference.backends import (
    BACKENDS,
    DEFAULT_BACKEND,
    backend_variant,
    load_embedder,
)
from voiceauth_adapters.inference.pool import BatchEmbedder, BoundedInferencePool, WorkerPool

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "BatchEmbedder",
    "BoundedInferencePool",
    "WorkerPool",
    "backend_variant",
    "load_embedder",
]
