"""``voiceauth enroll`` / ``voiceauth verify`` on real clips, the real model and embedded SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.integration.real_model import SPEECH, cache_dir
from voiceauth_adapters.sealing import new_key

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def voiceauth(
    data: Path, *args: str, template_key: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VOICEAUTH_DATA_DIR": str(data),
        "VOICEAUTH_CACHE_DIR": str(cache_dir()),
        "VOICEAUTH_INFERENCE_THREADS": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)
    env.pop("VOICEAUTH_TEMPLATE_KEY", None)
    if template_key is not None:
        env["VOICEAUTH_TEMPLATE_KEY"] = template_key
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
    # Without a template key, as at the service's start: a warning on stderr, never on stdout.
    assert "voiceprints are stored in the clear" in enrolled.stderr
    assert "in the clear" not in enrolled.stdout

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


def test_verify_without_the_key_that_sealed_the_enrolment_exits_1(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = new_key()
    assert voiceauth(data, "db", "migrate").returncode == 0
    user = str(uuid.uuid4())
    enrolled = voiceauth(data, "enroll", user, str(SPEECH / "103_a.flac"), template_key=key)
    assert enrolled.returncode == 0, enrolled.stderr
    assert "in the clear" not in enrolled.stderr

    # The start-up check refuses before the model loads or a row is read.
    unkeyed = voiceauth(data, "verify", user, str(SPEECH / "103_b.flac"))
    assert unkeyed.returncode == 1, unkeyed.stdout + unkeyed.stderr
    assert unkeyed.stdout == ""
    assert "voiceauth: TemplateProtectionError: 1 stored voiceprint(s) are encrypted" in (
        unkeyed.stderr
    )
    assert "Traceback" not in unkeyed.stderr
    assert key.rstrip("=") not in unkeyed.stderr + enrolled.stderr + enrolled.stdout

    keyed = voiceauth(data, "verify", user, str(SPEECH / "103_b.flac"), template_key=key)
    assert keyed.returncode == 0, keyed.stderr
    assert keyed.stdout.startswith("accept: score")
