"""``voiceauth enroll`` / ``voiceauth verify`` on real clips, the real model and embedded SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.integration.real_model import SPEECH, cache_dir

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def voiceauth(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VOICEAUTH_DATA_DIR": str(data),
        "VOICEAUTH_CACHE_DIR": str(cache_dir()),
        "VOICEAUTH_INFERENCE_THREADS": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "voiceauth_web.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_enrol_then_verify_the_same_and_another_speaker(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert voiceauth(data, "db", "migrate").returncode == 0
    user = str(uuid.uuid4())

    enrolled = voiceauth(
        data, "enroll", user, str(SPEECH / "103_a.flac"), "--phone", "+14155550101"
    )
    assert enrolled.returncode == 0, enrolled.stderr
    assert f"enrolled {user}: 1 sample(s)" in enrolled.stdout

    same = voiceauth(data, "verify", user, str(SPEECH / "103_b.flac"))
    assert same.returncode == 0, same.stderr
    assert same.stdout.startswith("accept: score")

    other = voiceauth(data, "verify", user, str(SPEECH / "1098_a.flac"))
    assert other.returncode == 2, other.stderr
    assert other.stdout.startswith("reject: score")


def test_failures_exit_1_with_the_error_name_and_no_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert voiceauth(data, "db", "migrate").returncode == 0
    unknown = voiceauth(data, "verify", str(uuid.uuid4()), str(SPEECH / "1098_a.flac"))
    assert unknown.returncode == 1
    assert "UserNotFoundError" in unknown.stderr
    bad_id = voiceauth(data, "enroll", "not-a-uuid", str(SPEECH / "103_a.flac"))
    assert bad_id.returncode == 1
    assert "Traceback" not in unknown.stderr + bad_id.stderr
