"""``voiceauth eval --spoof`` on a tiny corpus from the real builder, with the real AASIST.

The corpus is built as ``test_spoof_corpus`` builds it (fixture speakers, espeak-ng, replays,
two clips per system); the report must hold every table, and no fold may fit the family it
holds out.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integration.real_antispoof import aasist
from tests.integration.real_model import speech
from tests.integration.test_spoof_corpus import build
from voiceauth_adapters.antispoof import read_backend, read_calibration
from voiceauth_adapters.antispoof.detector import SPEECH_LEVEL_DBFS, normalise_level
from voiceauth_adapters.antispoof.export import HIDDEN_SIZE
from voiceauth_adapters.antispoof.manifest import DETECTOR_ID
from voiceauth_core import Audio
from voiceauth_web import cli
from voiceauth_web.commands.evaluate_spoof import BACKEND_NAME, BACKENDS, FRONT_ENDS

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpora = tmp_path_factory.mktemp("corpora")
    (corpora / "librispeech-train-clean-100-sample").mkdir()
    for clip in sorted((FIXTURES / "speech").glob("*.flac")):
        (corpora / "librispeech-train-clean-100-sample" / clip.name).symlink_to(clip)
    (corpora / "fsdd").symlink_to(FIXTURES / "fsdd-eval")
    out = tmp_path_factory.mktemp("spoof-corpus")
    assert build(corpora, out) == 0
    return out


@pytest.fixture(scope="module")
def evaluated(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spoof-eval")
    status = cli.main(
        [
            "eval",
            str(corpus),
            "--spoof",
            "--scores",
            str(folder / "scores.csv"),
            "--out",
            str(folder / "report.json"),
            "--write-calibration",
            str(folder / "calibration.json"),
            "--write-backend",
            str(folder / "backend.json"),
            "--compare-backends",
            "--quiet",
        ]
    )
    assert status == 0
    return folder


def report(folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return loaded


def test_every_clip_is_scored_once_and_cached(corpus: Path, evaluated: Path) -> None:
    with (corpus / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        clips = [row["path"] for row in csv.DictReader(handle)]
    with (evaluated / "scores.csv").open(newline="", encoding="utf-8") as handle:
        cached = list(csv.DictReader(handle))
    assert sorted(row["path"] for row in cached) == sorted(clips)
    assert {row["detector"] for row in cached} == {DETECTOR_ID}
    assert {row["front_end"] for row in cached} == {"rms-26dBFS"}  # the service's level
    scoring = report(evaluated)["scoring"]
    assert scoring["clips"] == len(clips)
    assert scoring["wall_seconds"] > 0


def test_a_second_run_reads_the_cache(corpus: Path, evaluated: Path, tmp_path: Path) -> None:
    before = (evaluated / "scores.csv").read_bytes()
    out = tmp_path / "again.json"
    status = cli.main(
        [
            "eval",
            str(corpus),
            "--spoof",
            "--scores",
            str(evaluated / "scores.csv"),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert status == 0
    assert (evaluated / "scores.csv").read_bytes() == before
    again = json.loads(out.read_text(encoding="utf-8"))
    first = report(evaluated)
    assert again["eer"] == first["eer"]
    assert again["shipped"]["calibration"] == first["shipped"]["calibration"]


def test_held_out_families_are_never_fitted(evaluated: Path) -> None:
    runs = report(evaluated)["leave_one_family_out"]
    assert [run["held_out"] for run in runs] == ["espeak-ng", "replay"]
    for run in runs:
        assert run["held_out"] not in run["fit"]["spoof_families"]
        assert run["evaluation"]["spoof_families"] == [run["held_out"]]
        assert run["fit"]["spoof_families"]  # the other family fitted it
        assert set(run["measured"]["spoof_attempts"]) == {run["held_out"], "(all)", "(mean)"}


def test_speakers_and_texts_are_disjoint(evaluated: Path) -> None:
    split = report(evaluated)["split"]
    assert split["fit_speakers"]
    assert split["eval_speakers"]
    assert set(split["fit_speakers"]).isdisjoint(split["eval_speakers"])
    assert set(split["fit_texts"]).isdisjoint(split["eval_texts"])
    assert {s.split(":")[0] for s in split["eval_speakers"]} == {"librispeech", "fsdd"}


def test_the_report_holds_every_table(evaluated: Path) -> None:
    found = report(evaluated)
    per_channel = found["eer"]["per_channel"]
    assert set(per_channel) == {"clean", "g711", "mobile", "quiet", "loud", "noisy"}
    for row in per_channel.values():
        assert 0.0 <= row["vs_all_spoofs"]["eer"] <= 1.0
        assert row["vs_all_spoofs"]["bonafide"] >= 1
    assert set(found["eer"]["per_unseen_family"]) == {"espeak-ng", "replay"}
    shipped = found["shipped"]
    point = shipped["operating_point"]
    assert (
        0
        < point["elevated_probability"]
        <= point["step_up_probability"]
        <= point["refuse_enroll_probability"]
        <= 1
    )
    genuine = shipped["measured"]["genuine_calls"]
    assert {"clean", "g711", "mobile", "quiet", "loud", "noisy", "(all)"} <= set(genuine)
    for row in genuine.values():
        assert 0.0 <= row["step_up"] <= 1.0
    spoofs = shipped["measured"]["spoof_attempts"]
    assert {"espeak-ng", "replay", "(all)"} <= set(spoofs)
    assert all(0.0 <= row["accept"] <= 1.0 for row in spoofs.values())
    assert "bonafide" in shipped["measured"]["enrolment_refusals"]


def test_the_written_calibration_is_the_backends_fit(evaluated: Path) -> None:
    calibration = read_calibration(evaluated / "calibration.json")
    backend = read_backend(evaluated / "backend.json")
    shipped = report(evaluated)["backend"]["shipped"]["calibration"]
    assert backend.detector_id == DETECTOR_ID
    assert calibration.detector_id == backend.scored_id == f"{DETECTOR_ID}+{BACKEND_NAME}"
    assert calibration.scale == pytest.approx(shipped["scale"], abs=1e-5)
    assert calibration.offset == pytest.approx(shipped["offset"], abs=1e-5)


def test_every_clip_is_heard_once_for_the_backend(corpus: Path, evaluated: Path) -> None:
    with (evaluated / "scores-features.csv").open(newline="", encoding="utf-8") as handle:
        cached = list(csv.DictReader(handle))
    paths = [row["path"] for row in cached]
    assert len(paths) == len(set(paths))
    with (corpus / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        assert len(paths) <= sum(1 for _ in csv.DictReader(handle))
    scored = {row["path"] for row in cached if row["hidden"]}
    assert scored
    assert all(len(row["hidden"].split(";")) == HIDDEN_SIZE for row in cached if row["hidden"])


def test_the_backend_never_fits_the_family_it_is_judged_on(evaluated: Path) -> None:
    part = report(evaluated)["backend"]
    assert part["variant"] == BACKENDS[0]
    runs = part["leave_one_family_out"]["folds"]
    assert [run["held_out"] for run in runs] == ["espeak-ng", "replay"]
    for run in runs:
        assert run["backend"]["l2"] is not None
        assert set(run["measured"]["spoof_attempts"]) == {run["held_out"], "(all)", "(mean)"}
        assert 0.0 <= run["eer"]["all_channels"]["eer"] <= 1.0
    summary = part["leave_one_family_out"]["summary"]
    assert set(summary["by_family"]) == {"espeak-ng", "replay"}
    assert set(part["comparison"]) >= {"raw", "hidden", "hidden+channel", "embedding"}
    measured = part["shipped"]["measured"]
    assert {"clean", "g711", "mobile", "(all)"} <= set(measured["genuine_calls"])


def test_the_command_offers_every_level_the_evaluation_knows() -> None:
    from voiceauth_adapters.evaluation.spoof_eval.levels import LEVELS

    assert ("service", "none", *LEVELS) == FRONT_ENDS


def test_the_command_offers_every_backend_the_detector_can_run() -> None:
    from voiceauth_adapters.evaluation.spoof_eval.backend_fit import RUNTIME_VARIANTS

    assert (*RUNTIME_VARIANTS, "none") == BACKENDS


async def test_the_detector_hears_every_level_alike() -> None:
    # Turning a recording down must not make it sound more genuine (docs/spoofing.md: without
    # the level step a spoof 12 dB quieter scored about 8 lower).
    clip = Audio.concatenate([speech("1098_a"), speech("1098_b")])
    quiet = Audio(samples=clip.samples * 10 ** (-12 / 20), sample_rate=clip.sample_rate)
    detector = aasist()
    assert detector.front_end == f"rms{SPEECH_LEVEL_DBFS:+g}dBFS"
    loud, soft = await detector.assess(clip), await detector.assess(quiet)
    assert soft.scores == pytest.approx(loud.scores, abs=1e-3)


def test_normalised_speech_is_at_the_level_and_never_clipped() -> None:
    samples = speech("103_a").samples
    level = normalise_level(samples)
    rms = float(np.sqrt(np.mean(np.square(level, dtype=np.float64))))
    assert 20 * np.log10(rms) == pytest.approx(SPEECH_LEVEL_DBFS, abs=0.01)
    spiky = samples.copy()
    spiky[100] = 1.0  # a click: the gain gives way rather than clip it
    tiny = normalise_level(spiky * 1e-3)
    assert float(np.max(np.abs(tiny))) <= 0.99 + 1e-6
    silent = np.zeros(1600, np.float32)
    assert np.array_equal(normalise_level(silent), silent)
