"""Inference machinery shared by the embedding backends: a bounded worker pool and ONNX export.

Importing this package imports neither torch nor onnxruntime.
"""

from voiceauth_adapters.inference.pool import BatchEmbedder, BoundedInferencePool

__all__ = ["BatchEmbedder", "BoundedInferencePool"]
