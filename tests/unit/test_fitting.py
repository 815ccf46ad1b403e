"""Fitting the calibrated policy from recorded Verify-loop scores, and replaying early decisions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voiceauth_adapters.evaluation.fitting import (
    Point,
    RecordedTrial,
    fit_parameters,
    middle_of_safe_band,
    replay,
)
from voiceauth_core.attempt import Decision
from voiceauth_core.calibration import Calibration, logit
from voiceauth_core.errors import InvalidInputError

pytestmark = pytest.mark.unit


def _trials(seed: int = 0) -> list[RecordedTrial]:
    """Synthetic loops: genuine scores drift up with speech, impostors down; phone sides shift."""
    rng = np.random.default_rng(seed)
    trials = []
    for condition in ("clean/clean", "clean/phone", "phone/phone"):
        enroll_band = 0.3 if condition.startswith("phone") else 0.0
        probe_band = 0.3 if condition.endswith("phone") else 0.0
        shift = -0.1 if condition == "clean/phone" else 0.0
        for index in range(400):
            genuine = index < 40
            centre = (0.45 if genuine else 0.05) + shift
            points = tuple(
                Point(
                    speech_s=float(seconds),
                    normalised=float(centre + rng.normal(0, 0.12 / math.sqrt(seconds))),
                    enroll_band=enroll_band + float(rng.normal(0, 0.02)),
                    probe_band=probe_band + float(rng.normal(0, 0.02)),
                )
                for seconds in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
            )
            trials.append(RecordedTrial(condition=condition, genuine=genuine, points=points))
    return trials


def test_fit_puts_the_threshold_at_the_operating_point_and_meets_targets() -> None:
    trials = _trials()
    fitted = fit_parameters(trials, threshold=0.82)
    assert fitted.calibration.slope > 0
    assert 0.0 < fitted.band_centre < 0.3
    assert fitted.band_width > 0
    assert fitted.accept_margin >= 2.0  # one unit of safety on top of the smallest candidate
    assert fitted.reject_margin >= 2.0
    for row in fitted.summary.values():
        assert row["false_rejects"] <= 0.03 * row["genuine"]
        assert row["false_accepts"] <= 0.005 * row["impostor"]
        assert row["median_speech_s"] < 6.0  # early decisions happen


def test_replay_decides_early_only_beyond_the_margins() -> None:
    calibration = Calibration(slope=1.0, bias=0.0)
    point = logit(0.82)

    def trial(scores: list[float]) -> RecordedTrial:
        return RecordedTrial(
            condition="clean/clean",
            genuine=True,
            points=tuple(
                Point(speech_s=float(i + 1), normalised=s, enroll_band=0.0, probe_band=0.0)
                for i, s in enumerate(scores)
            ),
        )

    runs = replay(
        [trial([point + 2.5, 0.0]), trial([point + 1.0, point - 0.5]), trial([point - 4.0, 9.0])],
        calibration,
        band=(0.5, 0.1),
        point=point,
        accept_margin=2.0,
        reject_margin=3.0,
        target_speech_s=8.0,
    )
    assert [(decision, used) for _, decision, used in runs] == [
        (Decision.ACCEPT, 1.0),  # 2.5 above: early accept
        (Decision.REJECT, 2.0),  # undecided at 1 s, final score below the point
        (Decision.REJECT, 1.0),  # 4 below: early reject, the later 9.0 is never heard
    ]


def test_fit_needs_both_channels() -> None:
    only_clean = [t for t in _trials() if t.condition == "clean/clean"]
    with pytest.raises(InvalidInputError):
        fit_parameters(only_clean)
    with pytest.raises(InvalidInputError):
        fit_parameters([])


def test_the_operating_point_is_the_middle_of_the_band_within_targets() -> None:
    grid = np.arange(7.0)
    # Fewest errors at 3, but every point from 1 to 5 keeps each condition within target.
    assert middle_of_safe_band(grid, np.array([5.0, 0.9, 0.2, 0.1, 0.6, 0.9, 3.0])) == 3.0
    assert middle_of_safe_band(grid, np.array([5.0, 0.2, 0.1, 0.6, 0.9, 0.9, 3.0])) == 3.0
    # Two safe runs: the longer one.
    assert middle_of_safe_band(grid, np.array([0.5, 2.0, 0.5, 0.5, 0.5, 2.0, 0.5])) == 3.0
    # Nothing meets the targets: the middle of the best points.
    assert middle_of_safe_band(grid, np.array([3.0, 2.0, 2.0, 4.0, 5.0, 6.0, 7.0])) == 1.5
