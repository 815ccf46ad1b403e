"""Spoof calibrations as small JSON files: read, write, and the one that ships with the package.

A file holds ``{"detector_id": ..., "scale": ..., "offset": ..., "note": ...}``; ``note`` (where
the fit came from) is optional and only for people. The shipped one (:data:`SHIPPED_CALIBRATION`)
was fitted by ``voiceauth eval --spoof --write-calibration`` on the fit half of the local spoof
corpus; ``data/SOURCE.md`` says what it was fitted on and how to refit it.
"""

from __future__ import annotations

import json
from pathlib import Path

from voiceauth_adapters.speechbrain.manifest import ModelUnavailableError
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.spoofing import SpoofCalibration

__all__ = ["SHIPPED_CALIBRATION", "read_calibration", "shipped_calibration", "write_calibration"]

#: Where the package's fitted calibration of AASIST lives.
SHIPPED_CALIBRATION = Path(__file__).with_name("data") / "calibration.json"
_KEYS = {"detector_id", "scale", "offset", "note"}


def read_calibration(path: Path) -> SpoofCalibration:
    """The calibration in a JSON file.

    Raises:
        OSError: The file cannot be read.
        InvalidInputError: It is not a calibration: not JSON, unknown or missing keys, a value
            of the wrong type, or a scale that is not positive.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not a JSON spoof calibration") from exc
    if not isinstance(data, dict) or not {"detector_id", "scale", "offset"} <= data.keys():
        raise InvalidInputError(f"{path} needs detector_id, scale and offset")
    unknown = sorted(data.keys() - _KEYS)
    if unknown:
        raise InvalidInputError(f"{path} has unknown keys: {', '.join(unknown)}")
    detector_id, scale, offset = data["detector_id"], data["scale"], data["offset"]
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (scale, offset))
    if not isinstance(detector_id, str) or not numbers:
        raise InvalidInputError(f"{path}: detector_id is text, scale and offset are numbers")
    return SpoofCalibration(scale=float(scale), offset=float(offset), detector_id=detector_id)


def write_calibration(calibration: SpoofCalibration, path: Path, *, note: str = "") -> None:
    """Write ``calibration`` to ``path`` as JSON (``note``: where it was fitted, for people)."""
    data: dict[str, object] = {
        "detector_id": calibration.detector_id,
        "scale": calibration.scale,
        "offset": calibration.offset,
    }
    if note:
        data["note"] = note
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def shipped_calibration() -> SpoofCalibration:
    """The package's fitted calibration of AASIST.

    Raises:
        ModelUnavailableError: None ships yet (or it cannot be read).
    """
    try:
        return read_calibration(SHIPPED_CALIBRATION)
    except (OSError, InvalidInputError) as exc:
        raise ModelUnavailableError(
            f"no spoof calibration at {SHIPPED_CALIBRATION} ({exc}): fit one on genuine and "
            "spoofed calls and write it with write_calibration, or pass one explicitly"
        ) from exc
