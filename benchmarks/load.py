"""Load: N concurrent clients verify uploaded speech for a bounded time against a running service.

Reports statuses, latency percentiles and /healthz latency, then reconciles: every 200 response's
attempt must be in the attempt log, and the log must hold no attempt nobody was answered about
beyond those cut off at the end. Traffic goes to loopback only.

    python benchmarks/load.py --clients 50 --seconds 30            # starts its own service
    python benchmarks/load.py --url http://127.0.0.1:8000 --api-key KEY
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.service import API_KEY, running_service  # noqa: E402 - after the path is set

SPEECH = ROOT / "tests" / "fixtures" / "speech"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(url: str, key: str, clients: int, seconds: float) -> int:
    headers = {"X-API-Key": key}
    user = str(uuid.uuid4())
    enrol = (SPEECH / "103_a.flac").read_bytes()
    probe = (SPEECH / "103_b.flac").read_bytes()
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    health: list[float] = []
    acknowledged: set[str] = set()
    limits = httpx.Limits(max_connections=clients + 5)
    async with httpx.AsyncClient(
        base_url=url, timeout=120, headers=headers, limits=limits
    ) as client:
        response = await client.post(
            f"/api/v1/users/{user}/enrollments", files={"file": ("a.flac", enrol, "audio/flac")}
        )
        response.raise_for_status()
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                answer = await client.post(
                    f"/api/v1/users/{user}/verifications",
                    files={"file": ("b.flac", probe, "audio/flac")},
                    headers={"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250}"},
                )
                latencies.append(time.perf_counter() - started)
                statuses[answer.status_code] += 1
                if answer.status_code == 200:
                    acknowledged.add(answer.json()["attemptId"])

        async def prober() -> None:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                await client.get("/healthz")
                health.append(time.perf_counter() - started)
                await asyncio.sleep(0.1)

        await asyncio.gather(*(worker() for _ in range(clients)), prober())
        logged: set[str] = set()
        cursor = None
        while True:
            params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
            page = (await client.get(f"/api/v1/users/{user}/auth-history", params=params)).json()
            logged |= {a["id"] for a in page["attempts"]}
            cursor = page["next_cursor"]
            if not cursor:
                break
    server_errors = {s: n for s, n in statuses.items() if s >= 500 and s != 503}
    print(f"clients={clients} seconds={seconds:g} requests={sum(statuses.values())}")
    print(f"statuses: {dict(sorted(statuses.items()))}")
    p50, p95, p99 = (percentile(latencies, q) for q in (0.5, 0.95, 0.99))
    mean = statistics.fmean(latencies)
    print(f"verify latency s: p50={p50:.2f} p95={p95:.2f} p99={p99:.2f} mean={mean:.2f}")
    h50, h99 = (percentile(health, q) * 1000 for q in (0.5, 0.99))
    print(f"/healthz latency ms: p50={h50:.1f} p99={h99:.1f}")
    print(f"throughput: {statuses[200] / seconds:.2f} verifications/s")
    missing = acknowledged - logged
    print(f"acknowledged={len(acknowledged)} logged={len(logged)} missing={len(missing)}")
    return 1 if missing or server_errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running service (default: start one, embedded SQLite)")
    parser.add_argument("--api-key", default=API_KEY)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    if args.url:
        return asyncio.run(run(args.url, args.api_key, args.clients, args.seconds))
    with tempfile.TemporaryDirectory() as folder:
        env = {"VOICEAUTH_DATA_DIR": folder, "RATE_LIMIT_PER_MINUTE": "0"}
        with running_service(env, Path(folder) / "service.log") as url:
            return asyncio.run(run(url, API_KEY, args.clients, args.seconds))


if __name__ == "__main__":
    sys.exit(main())
