"""The impostor-score model of identification's open-set rule: fitted, written and read as JSON.

``voiceauth eval --identify --fit-open-set`` fits it on held-out speakers (the calibration
split) and writes ``data/open_set.json``, shipped with the package; the service reads it at
start through :func:`load_open_set_rule`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from voiceauth_core.errors import InvalidInputError, ModelMismatchError
from voiceauth_core.identification import OpenSetRule

__all__ = [
    "OpenSetParameters",
    "default_open_set_path",
    "fit_open_set",
    "load_open_set_rule",
    "read_open_set",
    "write_open_set",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenSetParameters:
    """A Gaussian over the calibrated log-odds of impostor comparisons.

    Args:
        model_id: The model whose scores it was fitted on.
        impostor_mean: Mean log-odds.
        impostor_std: Standard deviation of the log-odds.
        trials: How many impostor comparisons it was fitted on.
        source: Which speakers and channels.
        tail: Observed against modelled share of impostors at or above some log-odds, for the
            record (``{"log_odds": [...], "observed": [...], "modelled": [...]}``).
    """

    model_id: str
    impostor_mean: float
    impostor_std: float
    trials: int
    source: str
    tail: dict[str, list[float]]


def default_open_set_path() -> Path:
    """The shipped parameters."""
    return Path(__file__).parent / "data" / "open_set.json"


def fit_open_set(log_odds: Sequence[float], *, model_id: str, source: str) -> OpenSetParameters:
    """Fit the Gaussian to impostor log-odds.

    Raises:
        InvalidInputError: Fewer than 100 comparisons, or no spread.
    """
    values = [float(v) for v in log_odds]
    if len(values) < 100:
        raise InvalidInputError("fit the impostor model on at least 100 comparisons")
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    if not std > 0:
        raise InvalidInputError("the impostor scores have no spread")
    points = [mean + k * std for k in (1.0, 2.0, 3.0)]
    return OpenSetParameters(
        model_id=model_id,
        impostor_mean=round(mean, 4),
        impostor_std=round(std, 4),
        trials=len(values),
        source=source,
        tail={
            "log_odds": [round(p, 3) for p in points],
            "observed": [round(sum(v >= p for v in values) / len(values), 6) for p in points],
            "modelled": [
                round(0.5 * math.erfc((p - mean) / (std * math.sqrt(2))), 6) for p in points
            ],
        },
    )


def write_open_set(parameters: OpenSetParameters, path: Path) -> None:
    """Write the parameters as JSON (the folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(parameters), indent=2) + "\n", encoding="utf-8")


def read_open_set(path: Path | None = None) -> OpenSetParameters:
    """Read the parameters (the shipped ones by default).

    Raises:
        InvalidInputError: The file is missing or malformed.
    """
    chosen = path or default_open_set_path()
    try:
        data = json.loads(chosen.read_text(encoding="utf-8"))
        return OpenSetParameters(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidInputError(f"cannot read the open-set parameters {chosen}: {exc}") from exc


def load_open_set_rule(
    *, threshold: float, max_false_match: float, model_id: str, path: Path | None = None
) -> OpenSetRule:
    """The open-set rule with the shipped (or given) impostor model.

    Raises:
        InvalidInputError: The file is missing or malformed, or a limit is out of range.
        ModelMismatchError: The parameters were fitted on another model's scores.
    """
    parameters = read_open_set(path)
    if parameters.model_id != model_id:
        raise ModelMismatchError(
            f"the open-set parameters were fitted for model {parameters.model_id!r}, not "
            f"{model_id!r}: refit them with `voiceauth eval --identify --fit-open-set`"
        )
    return OpenSetRule(
        threshold=threshold,
        max_false_match=max_false_match,
        impostor_mean=parameters.impostor_mean,
        impostor_std=parameters.impostor_std,
    )
