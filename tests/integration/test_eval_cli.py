"""``voiceauth eval`` end to end on real spoken digits, with the real model, decoder and VAD."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import pytest

from voiceauth_adapters.evaluation.corpus import read_corpus
from voiceauth_adapters.onnx.quantized import int8_supported
from voiceauth_core.errors import InvalidInputError
from voiceauth_web.cli import main

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fsdd-eval"
FSDD_PATTERN = "_(?P<speaker>[a-z]+)_"


def _cpuinfo() -> str | None:
    """Linux's CPU flags (None elsewhere), to tell whether this CPU runs the int8 model."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return None


def eval_fixtures(out: Path, *options: str) -> int:
    """``voiceauth eval`` on the FSDD fixtures: ten digits enrol, five verify, every trial kept."""
    return main(
        [
            "eval",
            str(FIXTURES),
            "--pattern",
            FSDD_PATTERN,
            "--protocol",
            "groups",
            "--enroll-files",
            "10",
            "--test-files",
            "5",
            "--out",
            str(out),
            "--trials",
            "--no-cache",
            "--threads",
            "1",
            "--quiet",
            *options,
        ]
    )


def test_the_corpus_reader_takes_speakers_from_the_pattern() -> None:
    clips = read_corpus(FIXTURES, pattern=FSDD_PATTERN)
    assert sorted({c.speaker for c in clips}) == ["george", "jackson", "theo"]
    assert len(clips) == 45
    only = read_corpus(FIXTURES, pattern=FSDD_PATTERN, speakers="(george|theo)")
    assert sorted({c.speaker for c in only}) == ["george", "theo"]
    assert len(read_corpus(FIXTURES, pattern=FSDD_PATTERN, limit_speakers=1)) == 15
    with pytest.raises(InvalidInputError):
        read_corpus(FIXTURES, pattern="no-group-here")
    with pytest.raises(InvalidInputError):
        read_corpus(FIXTURES, pattern="(?P<speaker>zzz)")


@pytest.mark.parametrize(
    ("scoring", "test_channel", "phone_band"),
    [("calibrated", "phone", True), ("cosine", "clean", True), ("calibrated", "mobile", False)],
)
def test_eval_reports_error_rates_and_genuine_trials_outscore_impostors(
    tmp_path: Path, scoring: str, test_channel: str, phone_band: bool
) -> None:
    out = tmp_path / "report.json"
    plot = tmp_path / "report.png"
    options = () if phone_band else ("--no-phone-band",)
    status = eval_fixtures(
        out, "--test-channel", test_channel, "--scoring", scoring, "--plot", str(plot), *options
    )
    assert status == 0
    report = json.loads(out.read_text())
    assert report["counts"] == {
        "speakers": 3,
        "enrollments": 3,
        "failed_enrollments": 0,
        "tests": 3,
    }
    assert report["policy"]["name"] == (
        "asnorm-calibrated" if scoring == "calibrated" else "cosine"
    )
    assert report["policy"]["threshold"] == 0.82
    assert report["condition"]["test_channel"] == test_channel
    assert report["condition"]["phone_band"] is phone_band
    full = report["full_length"]
    for name in ("calibrated", "raw_cosine"):
        part = full[name]
        assert 0.0 <= part["eer"] <= 1.0
        assert part["min_dcf"] >= 0.0
        counts = part["at_threshold"]
        assert (counts["genuine"], counts["impostor"]) == (3, 6)
    service = report["service"]
    assert (service["genuine"], service["impostor"]) == (3, 6)
    assert service["speech_s_median"] > 0.0
    trials = report["trial_results"]
    assert len(trials) == 9
    for key in ("full_score", "full_raw"):
        genuine = [t[key] for t in trials if t["genuine"]]
        impostor = [t[key] for t in trials if not t["genuine"]]
        assert None not in genuine + impostor
        # Each speaker's own test outscores the other speakers' tests against that enrolment.
        for enrollment in {t["enrollment"] for t in trials}:
            own = [t[key] for t in trials if t["enrollment"] == enrollment and t["genuine"]]
            others = [t[key] for t in trials if t["enrollment"] == enrollment and not t["genuine"]]
            assert min(own) > max(others)
        assert sum(genuine) / len(genuine) > sum(impostor) / len(impostor)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_refuses_a_pattern_that_matches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["eval", str(FIXTURES), "--pattern", "(?P<speaker>zzz)", "--out", str(tmp_path / "r.json")]
    )
    assert status == 2
    assert "no audio file" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def phone_reports(tmp_path: Path, *backends: str) -> list[dict[str, Any]]:
    """The fixtures' JSON report per backend, every test heard over the phone line."""
    reports = []
    for backend in backends:
        out = tmp_path / f"{backend}.json"
        assert eval_fixtures(out, "--test-channel", "phone", "--backend", backend) == 0
        reports.append(json.loads(out.read_text()))
    return reports


def test_both_backends_reach_the_same_decisions(tmp_path: Path) -> None:
    """Switching VOICEAUTH_INFERENCE leaves every trial's decision and score where it was."""
    reference, onnx = phone_reports(tmp_path, "speechbrain", "onnx")
    assert (reference["backend"], onnx["backend"]) == ("speechbrain", "onnx")
    assert onnx["service"] == reference["service"]
    pairs = zip(reference["trial_results"], onnx["trial_results"], strict=True)
    for theirs, ours in pairs:
        assert ours["decision"] == theirs["decision"]
        assert ours["full_raw"] == pytest.approx(theirs["full_raw"], abs=1e-4)
        assert ours["full_score"] == pytest.approx(theirs["full_score"], abs=1e-3)


def test_the_int8_backend_reaches_the_fp32_decisions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The 8-bit model moves scores a little (cosine 0.995+), not the decisions on real digits;
    on a CPU without VNNI (where its arithmetic saturates) the eval tool refuses it, as serve
    does, in one line and with exit status 2."""
    if not int8_supported(platform.machine(), _cpuinfo()):
        status = eval_fixtures(tmp_path / "int8.json", "--backend", "onnx-int8")
        assert status == 2
        assert "VNNI" in capsys.readouterr().err
        assert not (tmp_path / "int8.json").exists()
        return
    fp32, int8 = phone_reports(tmp_path, "onnx", "onnx-int8")
    assert int8["backend"] == "onnx-int8"
    pairs = list(zip(fp32["trial_results"], int8["trial_results"], strict=True))
    assert pairs
    for theirs, ours in pairs:
        assert ours["decision"] == theirs["decision"]
        assert ours["full_raw"] == pytest.approx(theirs["full_raw"], abs=0.03)
        assert ours["full_raw"] != theirs["full_raw"]  # really the other model
