"""``voiceauth db migrate`` / ``db status`` on the embedded file and on a real Postgres."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import postgres_harness
from voiceauth_web.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean environment: no database URL, no Supabase keys, the data folder in tmp."""
    for name in ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY", "DB_STATEMENT_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOST", "127.0.0.1")
    monkeypatch.setenv("VOICEAUTH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def database_url(monkeypatch: pytest.MonkeyPatch, environment: Path) -> Iterator[str]:
    del environment
    with postgres_harness.fresh_database("voiceauth_cli") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        yield url


def test_embedded_database_is_created_and_migrated(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "status"]) == 1
    assert "run `voiceauth db migrate` to create it" in capsys.readouterr().err
    assert not (environment / "voiceauth.db").exists()  # status changes nothing

    assert main(["db", "migrate"]) == 0
    out, _ = capsys.readouterr()
    assert f"sqlite:///{environment / 'voiceauth.db'}" in out
    assert "applied 0002_enrolments_and_attempts" in out
    assert (environment / "voiceauth.db").exists()

    assert main(["db", "migrate"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["db", "status"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_postgres_database_is_migrated(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "migrate"]) == 0
    out, _ = capsys.readouterr()
    assert "applied 0001_original_schema" in out
    assert database_url.split("@")[1] in out
    assert main(["db", "status"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_unreachable_postgres_fails_without_showing_the_password(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    del environment
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:s3cret@127.0.0.1:1/voiceauth")
    assert main(["db", "migrate"]) == 1
    out, err = capsys.readouterr()
    assert "cannot connect to the database at postgresql://app@127.0.0.1:1/voiceauth" in err
    assert "s3cret" not in out + err


def test_supabase_keys_alone_are_refused(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    del environment
    monkeypatch.setenv("SUPABASE_URL", "https://abc.supabase.co")
    monkeypatch.setenv("SUPABASE_ANON_KEY", "anon")
    assert main(["db", "migrate"]) == 2
    assert "Connection string" in capsys.readouterr().err


def test_the_installed_command_runs(environment: Path) -> None:
    """The console script, as `make db` runs it, in a separate process."""
    command = Path(sys.executable).with_name("voiceauth")
    result = subprocess.run(
        [str(command), "db", "migrate"],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (environment / "voiceauth.db").exists()
