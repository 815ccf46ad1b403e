"""The score cohort and calibration shipped with voiceauth, and the calibrated policy built on them.

Call :func:`load_calibrated_policy` once at start-up (it reads two small files).
"""

from __future__ import annotations

from pathlib import Path

from voiceauth_adapters.cohort.files import (
    BANDS,
    CohortFile,
    PolicyParameters,
    default_calibration_path,
    default_cohort_path,
    read_cohort_file,
    read_parameters,
    write_cohort_file,
    write_parameters,
)
from voiceauth_core.calibration import AsNorm, BandEstimator, CalibratedPolicy
from voiceauth_core.errors import ModelMismatchError

__all__ = [
    "BANDS",
    "CohortFile",
    "PolicyParameters",
    "default_calibration_path",
    "default_cohort_path",
    "load_calibrated_policy",
    "read_cohort_file",
    "read_parameters",
    "write_cohort_file",
    "write_parameters",
]


def load_calibrated_policy(
    *,
    threshold: float = 0.82,
    model_id: str | None = None,
    cohort_path: Path | None = None,
    calibration_path: Path | None = None,
) -> CalibratedPolicy:
    """The AS-norm + calibration policy from the shipped (or given) cohort and calibration.

    Args:
        threshold: ``VOICE_THRESHOLD``: accept at or above this calibrated score.
        model_id: The running model's id; when given, a cohort of another model is refused here
            at start-up rather than at the first verification.
        cohort_path: Another cohort file (``voiceauth cohort build``).
        calibration_path: Another calibration file (``voiceauth calibrate``).

    Raises:
        InvalidInputError: A file is missing or malformed, or the threshold is out of [0, 1].
        ModelMismatchError: The cohort, the calibration and ``model_id`` disagree on the model.
    """
    parameters = read_parameters(calibration_path)
    stored = read_cohort_file(cohort_path)
    if parameters.model_id != stored.model_id:
        raise ModelMismatchError(
            f"the calibration was fitted for model {parameters.model_id!r} but the cohort was "
            f"made with {stored.model_id!r}; rebuild both"
        )
    if model_id is not None and model_id != stored.model_id:
        raise ModelMismatchError(
            f"the score cohort was made with model {stored.model_id!r}, not {model_id!r}: "
            "rebuild it (`voiceauth cohort build`, `voiceauth calibrate`) or set "
            "VOICEAUTH_SCORING=cosine"
        )
    band = BandEstimator.from_cohorts(
        wide=stored.cohort("wide"),
        phone=stored.cohort("phone"),
        centre=parameters.band_centre,
        width=parameters.band_width,
    )
    return CalibratedPolicy(
        asnorm=AsNorm(
            cohort=stored.cohort(parameters.cohort_band),
            top_k=parameters.top_k,
            scale=parameters.scale,
        ),
        calibration=parameters.calibration,
        band=band,
        threshold=threshold,
        accept_margin=parameters.accept_margin,
        reject_margin=parameters.reject_margin,
    )
