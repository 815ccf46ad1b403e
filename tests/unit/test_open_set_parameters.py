"""The open-set rule's impostor model: fitted, written, read back, refused for another model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voiceauth_adapters.index.open_set import (
    fit_open_set,
    load_open_set_rule,
    read_open_set,
    write_open_set,
)
from voiceauth_core import InvalidInputError, ModelMismatchError

pytestmark = pytest.mark.unit


def test_a_fit_round_trips_into_the_rule(tmp_path: Path) -> None:
    values = np.random.default_rng(3).normal(-9.0, 3.0, size=5000)
    fitted = fit_open_set(values.tolist(), model_id="m", source="test")
    assert fitted.impostor_mean == pytest.approx(-9.0, abs=0.2)
    assert fitted.impostor_std == pytest.approx(3.0, abs=0.2)
    assert fitted.trials == 5000
    observed, modelled = fitted.tail["observed"], fitted.tail["modelled"]
    assert observed == pytest.approx(modelled, abs=0.01)  # a Gaussian sample fits itself
    path = tmp_path / "open_set.json"
    write_open_set(fitted, path)
    assert read_open_set(path) == fitted
    rule = load_open_set_rule(threshold=0.82, max_false_match=0.01, model_id="m", path=path)
    assert (rule.impostor_mean, rule.impostor_std) == (fitted.impostor_mean, fitted.impostor_std)
    with pytest.raises(ModelMismatchError):
        load_open_set_rule(threshold=0.82, max_false_match=0.01, model_id="other", path=path)


def test_too_few_trials_or_a_bad_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        fit_open_set([-1.0] * 10, model_id="m", source="test")
    with pytest.raises(InvalidInputError):
        fit_open_set([-1.0] * 200, model_id="m", source="test")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(InvalidInputError):
        read_open_set(tmp_path / "bad.json")
    with pytest.raises(InvalidInputError):
        read_open_set(tmp_path / "missing.json")
