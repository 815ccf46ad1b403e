"""A real ``voiceauth serve`` process for end-to-end tests: real model, real stores."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.integration.real_model import cache_dir

ROOT = Path(__file__).resolve().parents[2]
# The command line of this checkout (the shared virtual environment may be linked to another).
VOICEAUTH = [sys.executable, "-m", "voiceauth_web.cli"]
API_KEY = "e2e-key"
TOOL_SECRET = "e2e-tool-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A running service: its base URL and its process."""

    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def running_service(env: dict[str, str], log: Path, *, port: int | None = None) -> Iterator[str]:
    """Migrate, start the service, wait for ``/healthz``; yields its base URL; stops it."""
    with service_process(env, log, port=port) as service:
        yield service.url


@contextmanager
def service_process(
    env: dict[str, str], log: Path, *, port: int | None = None
) -> Iterator[Service]:
    """Like :func:`running_service`, yielding the process too (to stop it mid-test)."""
    port = port or free_port()
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VOICEAUTH_", "DATABASE_URL"))},
        "VOICEAUTH_CACHE_DIR": str(cache_dir()),
        "VOICEAUTH_ALLOW_PRIVATE_NETWORKS": "1",
        "VOICEAUTH_API_KEYS": API_KEY,
        "VAPI_TOOL_SECRET": TOOL_SECRET,
        "VOICEAUTH_INFERENCE_THREADS": "1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PYTHONPATH": str(ROOT),
        **env,
    }
    subprocess.run(
        [*VOICEAUTH, "db", "migrate"], env=full, check=True, timeout=120, capture_output=True
    )
    with log.open("ab") as out:
        server = subprocess.Popen(
            [*VOICEAUTH, "serve"], env=full, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"service did not start: {log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.5)
        yield Service(url=base, process=server)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
