"""``voiceauth embed`` and ``voiceauth compare`` over the real decoder, VAD and model."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.integration.real_model import SPEECH, speech
from voiceauth_adapters.audio import ffmpeg_executable
from voiceauth_core import Audio
from voiceauth_core.testing import wav_bytes
from voiceauth_web.cli import main

pytestmark = pytest.mark.integration


def similarity(out: str) -> float:
    found = re.search(r"cosine similarity: (-?[0-9.]+)", out)
    assert found, out
    return float(found.group(1))


def test_embed_prints_net_speech_and_the_first_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed", str(SPEECH / "103_a.flac"), "--threads", "1"]) == 0
    out = capsys.readouterr().out
    net = float(re.search(r"net speech: ([0-9.]+) s", out).group(1))  # type: ignore[union-attr]
    assert 3.0 < net <= speech("103_a").duration
    assert "model: speechbrain/spkrec-ecapa-voxceleb@0575cb64" in out
    values = re.search(r"\[(.*), \.\.\.\]", out).group(1).split(", ")  # type: ignore[union-attr]
    assert len(values) == 8
    assert "192 values" in out


def test_compare_scores_the_same_voice_above_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same speaker's other half, as an M4A made by ffmpeg: another file, codec and rate.
    wav = tmp_path / "103_b.wav"
    wav.write_bytes(wav_bytes(speech("103_b")))
    m4a = tmp_path / "103_b.m4a"
    subprocess.run(
        [ffmpeg_executable(), "-loglevel", "error", "-i", str(wav), "-ar", "44100", str(m4a)],
        check=True,
        timeout=60,
    )
    assert main(["compare", str(SPEECH / "103_a.flac"), str(m4a), "--threads", "1"]) == 0
    same = similarity(capsys.readouterr().out)
    assert main(["compare", str(SPEECH / "103_a.flac"), str(SPEECH / "1098_b.flac")]) == 0
    other = similarity(capsys.readouterr().out)
    assert same > other + 0.2


def test_raw_audio_needs_and_takes_its_content_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "clip.raw"
    raw.write_bytes(np.round(speech("1088_a").samples * 32767).astype("<i2").tobytes())
    assert main(["embed", str(raw), "--content-type", "audio/pcm;rate=16000"]) == 0
    assert "net speech" in capsys.readouterr().out
    assert main(["embed", str(raw)]) == 1
    assert "AudioProcessingError" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path.write_bytes(wav_bytes(Audio.silence(3.0))), "silent"),
        (lambda path: None, "cannot read"),
        (lambda path: path.write_bytes(b"<html>not audio</html>"), "not audio"),
    ],
    ids=["silent", "missing", "not-audio"],
)
def test_unusable_files_fail_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    path = tmp_path / "clip.wav"
    make(path)  # type: ignore[operator]
    assert main(["embed", str(path)]) == 1
    err = capsys.readouterr().err
    assert "AudioProcessingError" in err
    assert message in err


def test_without_the_model_the_command_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VOICEAUTH_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("VOICEAUTH_MODEL_DIR", raising=False)
    assert main(["embed", str(SPEECH / "103_a.flac")]) == 1
    assert "voiceauth model fetch" in capsys.readouterr().err
