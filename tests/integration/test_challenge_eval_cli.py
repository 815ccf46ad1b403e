"""``voiceauth eval --challenge`` on the FSDD fixtures: real Whisper, a report with every rate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voiceauth_web.cli import main

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fsdd-eval"


def test_the_challenge_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "challenge.json"
    status = main(
        [
            "eval",
            str(FIXTURES),
            "--challenge",
            "--challenge-trials",
            "2",
            "--challenge-takes",
            "0-0",
            "--challenge-channels",
            "phone",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["source"]["takes"] == "0-0"
    assert report["source"]["speakers"] == ["george", "jackson", "theo"]
    assert report["rule"] == {"digits": 6, "tolerance": 2, "max_answer_delay_s": 4.0}
    (phone,) = report["channels"]
    assert phone["channel"] == "phone"
    assert phone["trials"] == 2
    assert phone["replays"] == 0  # two trials, two speakers: nobody answered twice
    assert len(phone["answers"]) == 2 + phone["retries"]
    assert 0.0 <= phone["genuine_pass"] <= phone["genuine_pass_after_one_retry"] <= 1.0
    assert set(phone["at_tolerance"]) == {"0", "1", "2"}
    assert "phone   trials    2" in capsys.readouterr().out


def test_unknown_channels_are_refused(tmp_path: Path) -> None:
    status = main(
        [
            "eval",
            str(FIXTURES),
            "--challenge",
            "--challenge-channels",
            "radio",
            "--out",
            str(tmp_path / "x.json"),
        ]
    )
    assert status == 2
