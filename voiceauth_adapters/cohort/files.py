"""The shipped cohort and calibration files: reading, writing and checking them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceauth_core.calibration import Calibration, Cohort
from voiceauth_core.errors import InvalidInputError

__all__ = [
    "BANDS",
    "CohortFile",
    "PolicyParameters",
    "default_calibration_path",
    "default_cohort_path",
    "read_cohort_file",
    "read_parameters",
    "write_cohort_file",
    "write_parameters",
]

#: The bands a cohort embedding was heard in: ``wide`` (16 kHz) and ``phone`` (8 kHz G.711).
BANDS = ("wide", "phone")


def default_cohort_path() -> Path:
    """The cohort shipped inside the package."""
    return Path(str(resources.files("voiceauth_adapters.cohort") / "data" / "cohort.npz"))


def default_calibration_path() -> Path:
    """The calibration shipped inside the package."""
    return Path(str(resources.files("voiceauth_adapters.cohort") / "data" / "calibration.json"))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CohortFile:
    """A cohort as stored: embeddings with their speaker and band.

    Args:
        embeddings: One unit embedding per row.
        speakers: The speaker of each row.
        bands: The band of each row (``wide`` or ``phone``).
        model_id: The model that made them.
    """

    embeddings: npt.NDArray[np.float32]
    speakers: tuple[str, ...]
    bands: tuple[str, ...]
    model_id: str

    def cohort(self, band: str = "both") -> Cohort:
        """The embeddings of one band (``wide``, ``phone``) or of ``both`` as a core cohort.

        Raises:
            InvalidInputError: Unknown band, or too few embeddings of it.
        """
        if band == "both":
            rows = np.ones(len(self.bands), dtype=bool)
        elif band in BANDS:
            rows = np.array([b == band for b in self.bands], dtype=bool)
        else:
            raise InvalidInputError(f"a cohort band is one of wide, phone, both; not {band!r}")
        return Cohort(embeddings=self.embeddings[rows].astype(np.float64), model_id=self.model_id)


def write_cohort_file(cohort: CohortFile, path: Path) -> None:
    """Store a cohort as a compressed ``.npz`` (float16: 192 x N halves, a few hundred kB)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        np.savez_compressed(
            handle,
            embeddings=cohort.embeddings.astype(np.float16),
            speakers=np.array(cohort.speakers, dtype=str),
            bands=np.array(cohort.bands, dtype=str),
            model_id=np.array(cohort.model_id),
        )


def read_cohort_file(path: Path | None = None) -> CohortFile:
    """Read a cohort file (the shipped one by default).

    Raises:
        InvalidInputError: The file is missing or malformed.
    """
    target = path or default_cohort_path()
    try:
        with np.load(target, allow_pickle=False) as data:
            embeddings = data["embeddings"].astype(np.float32)
            speakers = tuple(str(s) for s in data["speakers"])
            bands = tuple(str(b) for b in data["bands"])
            model_id = str(data["model_id"])
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidInputError(f"cannot read the score cohort {target}: {exc}") from exc
    if embeddings.ndim != 2 or not len(speakers) == len(bands) == embeddings.shape[0]:
        raise InvalidInputError(f"the score cohort {target} is malformed")
    return CohortFile(embeddings=embeddings, speakers=speakers, bands=bands, model_id=model_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyParameters:
    """Everything fitted for the calibrated policy besides the cohort embeddings.

    Args:
        model_id: The model the cohort and calibration were made with.
        cohort_band: Which cohort rows AS-norm uses (``wide``, ``phone`` or ``both``).
        top_k: AS-norm's top-k.
        scale: Whether AS-norm also divides by the top-k deviations (classic AS-norm).
        band_centre: Band score at which phone-likeness is one half.
        band_width: Band-score scale of phone-likeness.
        calibration: The calibration map's parameters.
        accept_margin: Log-odds above the threshold for an early accept.
        reject_margin: Log-odds below the threshold for an early reject.
        fitted_on: How and on what the parameters were fitted (free text for people).
    """

    model_id: str
    cohort_band: str
    top_k: int
    scale: bool
    band_centre: float
    band_width: float
    calibration: Calibration
    accept_margin: float
    reject_margin: float
    fitted_on: str = ""


def write_parameters(parameters: PolicyParameters, path: Path) -> None:
    """Store policy parameters as JSON."""
    body = asdict(parameters)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def read_parameters(path: Path | None = None) -> PolicyParameters:
    """Read policy parameters (the shipped ones by default).

    Raises:
        InvalidInputError: The file is missing or malformed.
    """
    target = path or default_calibration_path()
    try:
        body: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
        return PolicyParameters(
            model_id=str(body["model_id"]),
            cohort_band=str(body["cohort_band"]),
            top_k=int(body["top_k"]),
            scale=bool(body["scale"]),
            band_centre=float(body["band_centre"]),
            band_width=float(body["band_width"]),
            calibration=Calibration(**body["calibration"]),
            accept_margin=float(body["accept_margin"]),
            reject_margin=float(body["reject_margin"]),
            fitted_on=str(body.get("fitted_on", "")),
        )
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"cannot read the calibration {target}: {exc}") from exc
