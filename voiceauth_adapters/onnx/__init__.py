"""ECAPA-TDNN through onnxruntime: the same checkpoint exported to ONNX, the faster backend.

Importing this package imports neither torch nor onnxruntime; :meth:`OnnxEcapa.load` does.
"""

from voiceauth_adapters.onnx.ecapa import OnnxEcapa, ensure_export, export_dir_for, onnx_path

__all__ = ["OnnxEcapa", "ensure_export", "export_dir_for", "onnx_path"]
