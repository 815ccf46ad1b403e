"""A back-end on AASIST's outputs, fitted on the local spoof corpus: how unlike genuine speech.

AASIST's own output layer was trained on ASVspoof 2019's clean 16 kHz speech and on the attacks
of that set. The back-end adds one question the network's training never asked: how far the
call's last hidden representation (160 values, the mean over its windows) lies from those of
*genuine* speech heard through the same kind of line (wide band or telephone, told from the
audio: ``band.py``). That distance is fitted on genuine speech alone, so it needs no guess about
the attacks to come; a logistic regression then weighs it against the raw score::

    d = ln |W_line (mean hidden - mean_line)|^2          (a squared Mahalanobis distance)
    z = raw_weight * raw + distance_weight * d + bias
    score = (z - shift[line]) / spread[line]

Each window's score uses its own raw score and the call's distance, so the mean of the windows'
scores (the assessment's combined score) is the score of the call. ``shift`` and ``spread`` are
the mean and standard deviation of ``z`` over the fit side's genuine clips of that line, so a
genuine call scores about 0 ± 1 on either line. The shipped file (:data:`SHIPPED_BACKEND`) says
in ``data/BACKEND_SOURCE.md`` what it was fitted on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.antispoof.export import HIDDEN_SIZE
from voiceauth_adapters.antispoof.manifest import DETECTOR_ID
from voiceauth_adapters.speechbrain.manifest import ModelUnavailableError
from voiceauth_core.errors import InvalidInputError

__all__ = [
    "LINES",
    "SHIPPED_BACKEND",
    "GenuineLine",
    "SpoofBackend",
    "read_backend",
    "shipped_backend",
    "write_backend",
]

#: Where the package's fitted back-end lives.
SHIPPED_BACKEND = Path(__file__).with_name("data") / "backend.json"
#: The kinds of line the back-end tells apart.
LINES = ("wide", "narrow")
_KEYS = {"name", "detector_id", "raw_weight", "distance_weight", "bias", "narrow_below", "lines"}
_LINE_KEYS = {"mean", "whiten", "shift", "spread"}


@dataclass(frozen=True, slots=True, kw_only=True)
class GenuineLine:
    """Genuine speech of one kind of line, as the back-end knows it.

    Args:
        mean: The mean hidden representation of the fit side's genuine clips.
        whiten: A lower-triangular matrix ``W`` with ``|W x|^2`` the squared Mahalanobis
            distance of ``x`` from ``mean`` under their (shrunk) covariance.
        shift: The genuine fit clips' mean ``z``.
        spread: Their standard deviation of ``z`` (positive).

    Raises:
        InvalidInputError: Wrong shapes, values that are not finite, or a spread that is not
            positive.
    """

    mean: npt.NDArray[np.float64]
    whiten: npt.NDArray[np.float64]
    shift: float
    spread: float

    def __post_init__(self) -> None:
        mean = np.array(self.mean, dtype=np.float64)
        whiten = np.tril(np.array(self.whiten, dtype=np.float64))
        if mean.shape != (HIDDEN_SIZE,) or whiten.shape != (HIDDEN_SIZE, HIDDEN_SIZE):
            raise InvalidInputError(
                f"a genuine line has a mean of {HIDDEN_SIZE} and a {HIDDEN_SIZE}-square whitening"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(whiten))):
            raise InvalidInputError("a genuine line's mean and whitening must be finite")
        if not (math.isfinite(self.shift) and math.isfinite(self.spread) and self.spread > 0):
            raise InvalidInputError("a genuine line's shift is finite and its spread positive")
        mean.setflags(write=False)
        whiten.setflags(write=False)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "whiten", whiten)

    def distance(self, hidden: npt.NDArray[np.float64]) -> float:
        """``ln`` of the squared Mahalanobis distance of ``hidden`` from genuine speech."""
        offset = np.asarray(hidden, dtype=np.float64) - self.mean
        return math.log(max(float(np.sum(np.square(self.whiten @ offset))), 1e-12))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GenuineLine):
            return NotImplemented
        return (
            np.array_equal(self.mean, other.mean)
            and np.array_equal(self.whiten, other.whiten)
            and self.shift == other.shift
            and self.spread == other.spread
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoofBackend:
    """The fitted back-end (see the module's docstring).

    Args:
        name: Names the fit; the detector's id gains ``+name``, so a calibration fitted on its
            scores applies to it alone.
        detector_id: The network whose outputs it reads.
        raw_weight: Weight of AASIST's raw score.
        distance_weight: Weight of the distance from genuine speech.
        bias: The constant.
        narrow_below: Speech whose ``log10`` energy share above 4.5 kHz is below this came
            through a telephone line.
        lines: Genuine speech per line (``wide``, ``narrow``).

    Raises:
        InvalidInputError: A weight that is not finite, a line missing, or no name.
    """

    name: str
    detector_id: str
    raw_weight: float
    distance_weight: float
    bias: float
    narrow_below: float
    lines: Mapping[str, GenuineLine] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or not self.detector_id:
            raise InvalidInputError("a spoof back-end names itself and its detector")
        numbers = (self.raw_weight, self.distance_weight, self.bias, self.narrow_below)
        if not all(math.isfinite(value) for value in numbers):
            raise InvalidInputError("a spoof back-end's weights must be finite")
        if set(self.lines) != set(LINES):
            raise InvalidInputError(f"a spoof back-end knows genuine speech per line {LINES}")

    @property
    def scored_id(self) -> str:
        """The id of the scores it makes: the network's, ``+`` its name."""
        return f"{self.detector_id}+{self.name}"

    def line(self, log_high_band: float) -> str:
        """``narrow`` for speech heard through a telephone line, else ``wide``."""
        return "narrow" if log_high_band < self.narrow_below else "wide"

    def scores(
        self, raw: Sequence[float], hidden: Sequence[npt.NDArray[np.float32]], *, line: str
    ) -> list[float]:
        """Each window's score from its raw score and the distance of the windows' mean hidden
        representation: standard deviations above the genuine calls of its line.

        Raises:
            InvalidInputError: No window, or raw scores and hidden representations that do not
                pair up.
        """
        if not raw or len(raw) != len(hidden):
            raise InvalidInputError("one hidden representation per raw score, one at least")
        genuine = self.lines[line]
        mean = np.mean(np.asarray(hidden, dtype=np.float64), axis=0)
        shared = self.distance_weight * genuine.distance(mean) + self.bias
        return [
            (self.raw_weight * value + shared - genuine.shift) / genuine.spread for value in raw
        ]


def _numbers(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _line(data: object, path: Path) -> GenuineLine:
    if not isinstance(data, dict) or set(data) != _LINE_KEYS:
        raise InvalidInputError(f"{path}: each line holds {', '.join(sorted(_LINE_KEYS))}")
    rows = data["whiten"]
    if (
        not isinstance(data["mean"], list)
        or not all(_numbers(v) for v in data["mean"])
        or not isinstance(rows, list)
        or len(rows) != HIDDEN_SIZE
        or not all(isinstance(r, list) and len(r) == i + 1 for i, r in enumerate(rows))
        or not all(_numbers(v) for r in rows for v in r)
        or not _numbers(data["shift"])
        or not _numbers(data["spread"])
    ):
        raise InvalidInputError(f"{path}: a line's mean, whitening rows and numbers are malformed")
    whiten = np.zeros((HIDDEN_SIZE, HIDDEN_SIZE))
    for index, row in enumerate(rows):
        whiten[index, : index + 1] = row
    return GenuineLine(
        mean=np.array(data["mean"], dtype=np.float64),
        whiten=whiten,
        shift=float(data["shift"]),
        spread=float(data["spread"]),
    )


def read_backend(path: Path) -> SpoofBackend:
    """The back-end in a JSON file.

    Raises:
        OSError: The file cannot be read.
        InvalidInputError: It is not a back-end: not JSON, unknown or missing keys, values of
            the wrong type, shape or range.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not a JSON spoof back-end") from exc
    if not isinstance(data, dict) or not data.keys() >= _KEYS:
        raise InvalidInputError(f"{path} needs {', '.join(sorted(_KEYS))}")
    unknown = sorted(data.keys() - _KEYS - {"note"})
    if unknown:
        raise InvalidInputError(f"{path} has unknown keys: {', '.join(unknown)}")
    weights = ("raw_weight", "distance_weight", "bias", "narrow_below")
    if (
        not isinstance(data["name"], str)
        or not isinstance(data["detector_id"], str)
        or not all(_numbers(data[key]) for key in weights)
        or not isinstance(data["lines"], dict)
    ):
        raise InvalidInputError(f"{path}: names are text, weights numbers, lines a table")
    return SpoofBackend(
        name=data["name"],
        detector_id=data["detector_id"],
        raw_weight=float(data["raw_weight"]),
        distance_weight=float(data["distance_weight"]),
        bias=float(data["bias"]),
        narrow_below=float(data["narrow_below"]),
        lines={str(key): _line(value, path) for key, value in data["lines"].items()},
    )


def write_backend(backend: SpoofBackend, path: Path, *, note: str = "") -> None:
    """Write ``backend`` to ``path`` as JSON (``note``: where it was fitted, for people)."""
    data: dict[str, object] = {"note": note} if note else {}
    data |= {
        "name": backend.name,
        "detector_id": backend.detector_id,
        "raw_weight": backend.raw_weight,
        "distance_weight": backend.distance_weight,
        "bias": backend.bias,
        "narrow_below": backend.narrow_below,
        "lines": {
            key: {
                "shift": line.shift,
                "spread": line.spread,
                "mean": [float(v) for v in line.mean],
                "whiten": [[float(v) for v in line.whiten[i, : i + 1]] for i in range(HIDDEN_SIZE)],
            }
            for key, line in backend.lines.items()
        },
    }
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")


def shipped_backend() -> SpoofBackend:
    """The package's fitted back-end of AASIST.

    Raises:
        ModelUnavailableError: None ships (or it cannot be read, or is for other weights).
    """
    try:
        backend = read_backend(SHIPPED_BACKEND)
    except (OSError, InvalidInputError) as exc:
        raise ModelUnavailableError(f"no spoof back-end at {SHIPPED_BACKEND} ({exc})") from exc
    if backend.detector_id != DETECTOR_ID:
        raise ModelUnavailableError(
            f"the spoof back-end at {SHIPPED_BACKEND} is for {backend.detector_id}, "
            f"not {DETECTOR_ID}"
        )
    return backend
