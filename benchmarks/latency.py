"""Decision latency, throughput, /healthz under load, memory and start-up of the real service.

Starts ``voiceauth serve`` (SQLite, the real model, the chosen backend) the way the end-to-end
tests do, enrols one LibriSpeech voice by upload, then measures:

1. decision latency: a 5 s utterance streamed at real time by the local VAPI-compatible listen
   server; from the moment the frame that completed the audio the decision used
   (``audioSeconds``) is sent to the HTTP response of ``verify-password``; p50/p95 over
   ``--calls`` calls, one at a time;
2. throughput: verifications by upload (7 s clips) with 1, 4 and 16 concurrent clients for
   ``--seconds`` each: verifications per second, p50/p99 latency, 503s, and the p99 of a
   ``/healthz`` probe sent every 20 ms at the same time from a process of its own;
3. the service's resident set size after warm-up and at the end of the heaviest load, and its
   start-up time (process start to the first ``/healthz`` answer; the log's "ready" seconds).

    PYTHONPATH=. python benchmarks/latency.py [--backend onnx,speechbrain] [--workers N]

Each backend in ``--backend`` gets its own service, one after the other in the same run, and
the first is compared with the second (by default ONNX, the service's default, against the
SpeechBrain reference). Run ``voiceauth model fetch`` first. Each backend takes about two
minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

from tests.e2e.service import API_KEY, service_process
from tests.integration.real_model import SPEECH, speech
from voiceauth_adapters.vapi.testing import ListenCall, VapiListenServer
from voiceauth_core import Audio

KEY = {"X-API-Key": API_KEY}

#: The /healthz probe: one plain blocking connection, a request every 20 ms, milliseconds out.
PROBE = """
import http.client, sys, time, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
stop = time.perf_counter() + float(sys.argv[2])
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
while time.perf_counter() < stop:
    began = time.perf_counter()
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
    print(1000 * (time.perf_counter() - began), flush=True)
    time.sleep(0.02)
"""


def percentile(values: list[float], share: float) -> float:
    return float(np.percentile(np.array(values), share)) if values else float("nan")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def upload(name: str) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (f"{name}.flac", (SPEECH / f"{name}.flac").read_bytes(), "audio/flac")}


async def decision_latency(client: httpx.AsyncClient, user: str, calls: int) -> list[float]:
    """Milliseconds from the arrival of the last audio a decision used to the verify response.

    The caller speaks 5 s in real time; the service decides as soon as it is safe (early
    decision) and reports the audio it heard until then (``audioSeconds``). The listen server
    notes when each frame went out, so the clock starts when the frame that completed that
    audio was sent (loopback: sent is arrived, to within a frame of 20 ms).
    """
    caller = speech("103_b")
    five = Audio(samples=caller.samples[: 5 * 16000], sample_rate=16000)
    results: list[float] = []
    async with VapiListenServer() as server:
        for _ in range(calls):
            call = ListenCall(caller=five, speed=1.0)
            url = server.add(call)
            answer = await client.post(
                "/api/v1/verify-password", json={"userId": user, "listenUrl": url}, headers=KEY
            )
            done = time.perf_counter()
            answer.raise_for_status()
            body = answer.json()
            assert body["decision"] == "accept", answer.text
            needed = call.time_sent(body["audioSeconds"])
            assert needed is not None, (body["audioSeconds"], call.sent_at[-1:])
            results.append(1000 * (done - needed))
    return results


async def load(
    client: httpx.AsyncClient, user: str, clients: int, seconds: float
) -> tuple[int, int, list[float], list[float]]:
    """(verifications, 503s, latencies ms, /healthz latencies ms) under ``clients`` at once."""
    files = [upload(name) for name in ("103_b", "103_a")]
    latencies: list[float] = []
    health: list[float] = []
    busy = 0
    stop = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal busy
        while time.perf_counter() < stop:
            began = time.perf_counter()
            answer = await client.post(
                f"/api/v1/users/{user}/verifications", files=files[index % 2], headers=KEY
            )
            if answer.status_code == 503:
                busy += 1
                continue
            answer.raise_for_status()
            latencies.append(1000 * (time.perf_counter() - began))

    async def probe() -> None:
        # A process of its own, so that the load clients' event loop (multipart encoding, JSON)
        # never delays the probe: what is timed is the service's answer.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            PROBE,
            str(client.base_url),
            str(seconds),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        health.extend(float(line) for line in out.decode().split())

    await asyncio.gather(probe(), *(worker(index) for index in range(clients)))
    return len(latencies), busy, latencies, health


async def measure(url: str, pid: int, args: argparse.Namespace) -> dict[str, object]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        user = str(uuid.uuid4())
        enrolled = await client.post(
            f"/api/v1/users/{user}/enrollments", files=upload("103_a"), headers=KEY
        )
        enrolled.raise_for_status()
        for _ in range(3):  # warm-up
            (
                await client.post(
                    f"/api/v1/users/{user}/verifications", files=upload("103_b"), headers=KEY
                )
            ).raise_for_status()
        warm_rss = rss_mib(pid)
        decisions = await decision_latency(client, user, args.calls)
        rows = []
        peak = warm_rss
        for clients in (1, 4, 16):
            began = time.perf_counter()
            done, busy, latencies, health = await load(client, user, clients, args.seconds)
            peak = max(peak, rss_mib(pid))
            rows.append((clients, done / (time.perf_counter() - began), busy, latencies, health))
        return {"warm_rss": warm_rss, "peak_rss": peak, "decisions": decisions, "rows": rows}


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, object]:
    """Start a service on ``backend``, measure it, stop it."""
    with tempfile.TemporaryDirectory() as folder:
        env = {
            "VOICEAUTH_DATA_DIR": str(Path(folder) / "data"),
            "VOICEAUTH_INFERENCE": backend,
            "VOICEAUTH_INFERENCE_THREADS": str(args.threads),
            "VOICEAUTH_INFERENCE_WORKERS": str(args.workers),
            "RATE_LIMIT_PER_MINUTE": "0",
            "LOG_LEVEL": "WARNING",
        }
        log = Path(folder) / "log"
        began = time.perf_counter()
        with service_process(env, log) as service:
            started = time.perf_counter() - began
            result = asyncio.run(measure(service.url, service.process.pid, args))
    return {**result, "started": started}


def report(backend: str, args: argparse.Namespace, result: dict[str, object]) -> None:
    decisions = result["decisions"]
    assert isinstance(decisions, list)
    print(
        f"backend {backend}, threads {args.threads or 'cores'}, workers "
        f"{args.workers or 'cores'}; start-up {result['started']:.1f} s to /healthz"
    )
    print(
        f"RSS after warm-up {result['warm_rss']:.0f} MiB, under load (peak) "
        f"{result['peak_rss']:.0f} MiB"
    )
    print(
        f"decision latency after the last audio of a 5 s real-time call ({len(decisions)} calls):"
        f" p50 {statistics.median(decisions):.0f} ms, p95 {percentile(decisions, 95):.0f} ms"
    )
    print(
        f"{'clients':>7} {'verif/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'503s':>5}"
        f" {'healthz p99 ms':>15}"
    )
    rows = result["rows"]
    assert isinstance(rows, list)
    for clients, rate, busy, latencies, health in rows:
        print(
            f"{clients:>7} {rate:>8.2f} {percentile(latencies, 50):>8.0f} "
            f"{percentile(latencies, 99):>8.0f} {busy:>5} {percentile(health, 99):>15.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backend", default="onnx,speechbrain", help="backends, one after the other (first: ours)"
    )
    parser.add_argument("--threads", type=int, default=0, help="VOICEAUTH_INFERENCE_THREADS")
    parser.add_argument("--workers", type=int, default=0, help="VOICEAUTH_INFERENCE_WORKERS")
    parser.add_argument("--calls", type=int, default=12, help="real-time calls for latency")
    parser.add_argument("--seconds", type=float, default=15.0, help="per concurrency level")
    args = parser.parse_args()
    backends = args.backend.split(",")
    results = {backend: run_backend(backend, args) for backend in backends}
    for backend, result in results.items():
        report(backend, args, result)
        print()
    if len(backends) > 1:
        ours, baseline = results[backends[0]], results[backends[1]]
        ours_rows, base_rows = ours["rows"], baseline["rows"]
        assert isinstance(ours_rows, list)
        assert isinstance(base_rows, list)
        ours_p50 = statistics.median(ours["decisions"])  # type: ignore[arg-type]
        base_p50 = statistics.median(baseline["decisions"])  # type: ignore[arg-type]
        print(f"{backends[0]} against {backends[1]}, same run:")
        print(f"  decision latency p50: {base_p50 / ours_p50:.2f}x faster")
        for mine, theirs in zip(ours_rows, base_rows, strict=True):
            print(f"  {mine[0]:>2} clients: throughput {mine[1] / theirs[1]:.2f}x")


if __name__ == "__main__":
    main()
