"""``voiceauth eval --identify`` end to end on real spoken digits (real model, decoder, VAD)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_eval_cli import eval_fixtures

pytestmark = pytest.mark.integration


def test_identify_reports_each_gallery_and_the_synthetic_one(tmp_path: Path) -> None:
    out = tmp_path / "identify.json"
    status = eval_fixtures(
        out,
        "--identify",
        "--probe-speakers",
        "george|theo",
        "--gallery-sizes",
        "1,3",
        "--synthetic",
        "500",
        "--identify-channels",
        "clean",
    )
    assert status == 0
    report = json.loads(out.read_text())
    assert report["source"]["tool"] == "voiceauth eval --identify"
    assert report["enrolled_speakers"] == 3
    assert report["probe_speakers"] == 2
    assert report["open_set"]["model_id"] == report["model_id"]
    rows = {row["gallery"]: row for row in report["results"]}
    assert set(rows) == {"1", "3", "500 (synthetic)"}
    # A gallery of one holds george only: one closed-set trial, and two strangers' probes.
    assert rows["1"]["closed_set_trials"] == 1
    assert rows["1"]["open_set_trials"] == 2
    assert rows["3"]["closed_set_trials"] == 2
    assert rows["3"]["top1_accuracy"]["of"] == 2
    assert rows["500 (synthetic)"]["gallery_size"] == 500
    for row in rows.values():
        assert 0.0 <= row["open_set_false_match"]["rate"] <= 1.0
        assert set(row["sweep"]) >= {"0.01"}
