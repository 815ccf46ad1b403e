"""Which ASGI server should ``voiceauth serve`` run? uvicorn against granian, same app, one run.

Each server runs the real app (embedded SQLite, the real model loaded at start-up) in one
process on loopback, one after the other; ``wrk`` (Debian's package) then drives

- ``GET /healthz`` (no dependency touched: the server's own cost), and
- ``GET /api/v1/users?limit=20`` (routing, a database read in the store's thread, msgspec),

for ``--seconds`` each with ``--connections`` open connections, and the figures are printed side
by side with the ratio. granian is not a dependency: install it beside the benchmark only,
for example ``pip install --target /tmp/granian granian`` and ``GRANIAN_PATH=/tmp/granian``.

    PYTHONPATH=. python benchmarks/servers.py [--seconds 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

#: The app for servers that import it by name (granian): built from the environment.
APP_MODULE = """
from voiceauth_web.app import create_app
from voiceauth_web.containers import build_container
from voiceauth_web.settings import Settings

app = create_app(build_container(Settings.from_env()))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < 120:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return time.perf_counter() - began
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz within 120 s")


def wrk(url: str, seconds: float, connections: int) -> tuple[float, float, float]:
    """(requests per second, p50 ms, p99 ms) of one wrk run."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def millis(label: str) -> float:
        match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        assert match, out
        value, unit = float(match[1]), match[2]
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rate, out
    return float(rate[1]), millis("50%"), millis("99%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    granian_path = os.environ.get("GRANIAN_PATH", "")
    results: dict[str, dict[str, tuple[float, float, float]]] = {}
    started: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "voiceauth_bench_app.py").write_text(APP_MODULE)
        for server in ("uvicorn", "granian"):
            port = free_port()
            data = Path(folder) / server
            env = {
                **os.environ,
                "VOICEAUTH_DATA_DIR": str(data),
                "RATE_LIMIT_PER_MINUTE": "0",
                "LOG_LEVEL": "WARNING",
                "PORT": str(port),
                "PYTHONPATH": os.pathsep.join(
                    p for p in (folder, granian_path, os.environ.get("PYTHONPATH", "")) if p
                ),
            }
            env.pop("DATABASE_URL", None)
            voiceauth = [sys.executable, "-m", "voiceauth_web.cli"]
            subprocess.run([*voiceauth, "db", "migrate"], env=env, check=True, capture_output=True)
            if server == "uvicorn":
                command = [*voiceauth, "serve", "--port", str(port)]
            else:
                command = [
                    sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                    "--port", str(port), "--workers", "1", "--log-level", "warning",
                    "voiceauth_bench_app:app",
                ]  # fmt: skip
            process = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                started[server] = wait_ready(port, process)
                base = f"http://127.0.0.1:{port}"
                wrk(f"{base}/healthz", 2, args.connections)  # warm-up
                results[server] = {
                    path: wrk(f"{base}{path}", args.seconds, args.connections)
                    for path in ("/healthz", "/api/v1/users?limit=20")
                }
            finally:
                process.terminate()
                process.wait(timeout=30)

    print(f"wrk, 1 thread, {args.connections} connections, {args.seconds:g} s per route, loopback")
    print(f"{'route':<26}{'server':<9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for path in ("/healthz", "/api/v1/users?limit=20"):
        for server, routes in results.items():
            rate, p50, p99 = routes[path]
            print(f"{path:<26}{server:<9}{rate:>9.0f}{p50:>9.2f}{p99:>9.2f}")
        ratio = results["granian"][path][0] / results["uvicorn"][path][0]
        print(f"{'':<26}granian / uvicorn throughput: {ratio:.2f}x")
    print("start-up to /healthz: " + ", ".join(f"{k} {v:.1f} s" for k, v in started.items()))


if __name__ == "__main__":
    main()
