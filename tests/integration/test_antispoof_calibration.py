"""Spoof calibration files: written and read back, malformed ones refused, the shipped one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voiceauth_adapters.antispoof import (
    DETECTOR_ID,
    SHIPPED_CALIBRATION,
    read_calibration,
    shipped_backend,
    shipped_calibration,
    write_calibration,
)
from voiceauth_adapters.speechbrain import ModelUnavailableError
from voiceauth_core import InvalidInputError, SpoofCalibration

pytestmark = pytest.mark.integration


def test_a_written_calibration_reads_back_equal(tmp_path: Path) -> None:
    calibration = SpoofCalibration(scale=0.8, offset=-4.6, detector_id=DETECTOR_ID)
    path = tmp_path / "calibration.json"
    write_calibration(calibration, path, note="fitted on 400 genuine and 400 cloned calls")
    assert read_calibration(path) == calibration
    assert json.loads(path.read_text())["note"].startswith("fitted on")


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"detector_id": "d", "scale": 1}',
        '{"detector_id": "d", "scale": 1, "offset": 0, "slope": 2}',
        '{"detector_id": "d", "scale": "1", "offset": 0}',
        '{"detector_id": "d", "scale": true, "offset": 0}',
        '{"detector_id": 3, "scale": 1, "offset": 0}',
        '{"detector_id": "d", "scale": -1, "offset": 0}',
    ],
)
def test_a_malformed_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(text)
    with pytest.raises(InvalidInputError):
        read_calibration(path)


def test_the_shipped_calibration_is_read_from_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "calibration.json"
    monkeypatch.setattr("voiceauth_adapters.antispoof.calibration.SHIPPED_CALIBRATION", path)
    with pytest.raises(ModelUnavailableError, match="write_calibration"):
        shipped_calibration()
    write_calibration(SpoofCalibration(scale=1, offset=-5, detector_id=DETECTOR_ID), path)
    assert shipped_calibration().offset == -5


def test_the_shipped_calibration_calibrates_the_shipped_backend() -> None:
    # It is fitted on the scores of the back-end that ships beside it, on AASIST's outputs.
    assert SHIPPED_CALIBRATION.exists()
    backend = shipped_backend()
    assert backend.detector_id == DETECTOR_ID
    assert shipped_calibration().detector_id == backend.scored_id
