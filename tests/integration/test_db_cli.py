"""``voiceauth db migrate`` / ``db status`` on the embedded file and on a real Postgres."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.store_contract import T0, sample
from tests.integration import postgres_harness
from voiceauth_adapters.sealing import new_key
from voiceauth_core import UserId
from voiceauth_web import wiring
from voiceauth_web.cli import main
from voiceauth_web.settings import Settings

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


# Template keys ----------------------------------------------------------------------------------


async def _enrol_under(settings_key: str | None, count: int, first_seed: int) -> list[UserId]:
    """Users enrolled through the configured store, with ``VOICEAUTH_TEMPLATE_KEY`` as given."""
    settings = dataclasses.replace(Settings.from_env(), template_key=settings_key)
    users: list[UserId] = []
    async with wiring.database(settings) as database:
        repository = wiring.stores(database, wiring.template_cipher(settings))[0]
        for seed in range(first_seed, first_seed + count):
            user = UserId.new()
            await repository.save_sample(user, None, sample(seed), now=T0, replace=False)
            users.append(user)
    return users


async def _readable_with(settings_key: str, users: list[UserId]) -> bool:
    settings = dataclasses.replace(Settings.from_env(), template_key=settings_key)
    async with wiring.database(settings) as database:
        repository = wiring.stores(database, wiring.template_cipher(settings))[0]
        return all([await repository.get(user) is not None for user in users])


def test_new_key_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "new-key"]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert len(key) == 44
    assert "template key id" in err
    assert key not in err
    assert main(["db", "new-key"]) == 0
    assert capsys.readouterr().out.strip() != key


def _rotate_from_clear_and_old_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "migrate"]) == 0
    key_a, key_b = new_key(), new_key()
    clear = asyncio.run(_enrol_under(None, 3, 1))
    sealed = asyncio.run(_enrol_under(key_a, 2, 10))
    capsys.readouterr()

    monkeypatch.delenv("VOICEAUTH_TEMPLATE_KEY", raising=False)
    assert main(["db", "rotate-key"]) == 2
    assert "VOICEAUTH_TEMPLATE_KEY is not set" in capsys.readouterr().err
    assert main(["db", "status"]) == 0
    assert "3 in the clear, 2 sealed under key" in capsys.readouterr().out

    monkeypatch.setenv("VOICEAUTH_TEMPLATE_KEY", f"{key_b},{key_a}")
    assert main(["db", "rotate-key", "--batch-size", "2"]) == 0
    out, _ = capsys.readouterr()
    assert "resealed 2/5 voiceprints" in out
    assert "resealed 5/5 voiceprints" in out
    assert "3 were in the clear, 2 under an older key" in out
    assert "the older keys are no longer needed" in out
    assert key_a not in out
    assert key_b not in out

    # Key B alone reads every row afterwards; a second run has nothing to do.
    assert asyncio.run(_readable_with(key_b, clear + sealed))
    monkeypatch.setenv("VOICEAUTH_TEMPLATE_KEY", key_b)
    assert main(["db", "rotate-key"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["db", "status"]) == 0
    assert "5 sealed under key" in capsys.readouterr().out


def test_rotate_key_on_the_embedded_database(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    del environment
    _rotate_from_clear_and_old_key(monkeypatch, capsys)


def test_rotate_key_on_postgres(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    del database_url
    _rotate_from_clear_and_old_key(monkeypatch, capsys)


def test_a_malformed_key_is_a_configuration_error(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    del environment
    monkeypatch.setenv("VOICEAUTH_TEMPLATE_KEY", "too-short")
    assert main(["db", "rotate-key"]) == 2
    err = capsys.readouterr().err
    assert "VOICEAUTH_TEMPLATE_KEY" in err
    assert "too-short" not in err


def test_serve_on_an_unmigrated_database_says_so_in_one_line_and_exits_1(environment: Path) -> None:
    del environment  # the data folder is empty: no migration has run
    done = subprocess.run(
        [sys.executable, "-m", "voiceauth_web.cli", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=False,
    )
    assert done.returncode == 1
    assert "voiceauth: SchemaVersionError" in done.stderr or "schema version 0" in done.stderr
    assert "voiceauth db migrate" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "Uvicorn running" not in done.stderr + done.stdout
