"""The shipped cohort and calibration: they load, match each other, and round-trip on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voiceauth_adapters.cohort import (
    CohortFile,
    load_calibrated_policy,
    read_cohort_file,
    read_parameters,
    write_cohort_file,
)
from voiceauth_core.errors import InvalidInputError, ModelMismatchError

pytestmark = pytest.mark.integration


def test_the_shipped_cohort_is_small_and_holds_both_bands() -> None:
    stored = read_cohort_file()
    assert set(stored.bands) == {"wide", "phone"}
    assert stored.embeddings.shape[1] == 192
    assert 100 <= stored.embeddings.shape[0] <= 2000
    assert np.allclose(np.linalg.norm(stored.embeddings, axis=1), 1.0, atol=1e-2)
    # The cohort's speakers are the fixed cohort split: LibriSpeech ids ending in 0-3.
    assert all(int(s) % 10 <= 3 for s in stored.speakers)


def test_the_shipped_policy_loads_for_its_model_and_refuses_another() -> None:
    parameters = read_parameters()
    policy = load_calibrated_policy(threshold=0.82, model_id=parameters.model_id)
    assert policy.threshold == 0.82
    assert policy.name == "asnorm-calibrated"
    assert policy.band is not None
    with pytest.raises(ModelMismatchError):
        load_calibrated_policy(model_id="someone/else@1")


def test_cohort_files_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(6, 8)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    original = CohortFile(
        embeddings=rows,
        speakers=("1", "1", "2", "2", "3", "3"),
        bands=("wide", "phone") * 3,
        model_id="m@1",
    )
    write_cohort_file(original, tmp_path / "c.npz")
    back = read_cohort_file(tmp_path / "c.npz")
    assert back.speakers == original.speakers
    assert back.bands == original.bands
    assert back.model_id == "m@1"
    assert np.allclose(back.embeddings, rows, atol=1e-3)
    assert back.cohort("phone").size == 3
    assert back.cohort("both").size == 6
    with pytest.raises(InvalidInputError):
        back.cohort("satellite")


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read"):
        read_cohort_file(tmp_path / "missing.npz")
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    with pytest.raises(InvalidInputError, match="cannot read the calibration"):
        read_parameters(broken)
