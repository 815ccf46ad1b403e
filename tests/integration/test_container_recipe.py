"""The Containerfile's recipe, run for real: lint it, then install, fetch the model and serve.

No container engine runs on the build machines, so this test runs the same steps the image
build runs (``deploy/install.sh`` into a fresh virtual environment, ``voiceauth model fetch``)
and starts the service from that environment. The Containerfile must keep calling exactly these
steps: the first test checks that, so the recipe cannot rot unseen.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "Containerfile"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_containerfile_runs_the_shared_recipe() -> None:
    text = CONTAINERFILE.read_text()
    assert "sh deploy/install.sh /opt/venv" in text
    assert "voiceauth model fetch" in text
    assert "USER 10001" in text
    assert "HEALTHCHECK" in text
    assert "/healthz" in text


def test_containerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    result = subprocess.run(
        [hadolint, str(CONTAINERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def recipe_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    venv = tmp_path_factory.mktemp("recipe") / "venv"
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(
        ["sh", "deploy/install.sh", str(venv)], cwd=ROOT, env=env, check=True, timeout=1200
    )
    yield venv
    shutil.rmtree(venv, ignore_errors=True)


def test_the_recipe_installs_fetches_the_model_and_serves(
    recipe_venv: Path, tmp_path: Path
) -> None:
    voiceauth = str(recipe_venv / "bin" / "voiceauth")
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOICEAUTH_")},
        "VOICEAUTH_CACHE_DIR": str(tmp_path / "cache"),
        "VOICEAUTH_DATA_DIR": str(tmp_path / "data"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    env.pop("DATABASE_URL", None)
    fetched = subprocess.run(
        [voiceauth, "model", "fetch"],
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    )
    # The image's cache is read-only at run time: the default backend's export is made here.
    assert "ONNX export of the embedding network made" in fetched.stdout
    subprocess.run([voiceauth, "db", "migrate"], env=env, check=True, timeout=120)
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([voiceauth, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    tail = (tmp_path / "serve.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"the service did not start: {tail}")
                time.sleep(1)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
