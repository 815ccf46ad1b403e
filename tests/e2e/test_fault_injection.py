"""Fault injection: PostgreSQL stops under load and comes back.

Requests must fail fast with 503 and a clear error, `/api/v1/health` must say the database is
down, the service must recover by itself once PostgreSQL is back, and every verification that
was acknowledged (200) must have its attempt row. Runs on a throwaway cluster of its own.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.service import API_KEY, running_service
from tests.integration import postgres_harness
from tests.integration.real_model import SPEECH

pytestmark = pytest.mark.e2e

KEY = {"X-API-Key": API_KEY}


class Cluster:
    def __init__(self, server: postgres_harness.PostgresServer) -> None:
        self.server = server
        assert server.cluster_dir is not None
        self.data = server.cluster_dir / "data"
        port = urlsplit(server.admin_dsn).port
        self.options = (
            f"-p {port} -k {server.cluster_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        )

    def _pg_ctl(self, *args: str) -> None:
        command = [
            *(self.server.run_as or []),
            postgres_harness._binary("pg_ctl"),
            "-D",
            str(self.data),
        ]
        subprocess.run([*command, *args], check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def start(self) -> None:
        assert self.server.cluster_dir is not None
        log = str(self.server.cluster_dir / "server.log")
        self._pg_ctl("-o", self.options, "-l", log, "-w", "-t", "60", "start")


@pytest.fixture
def cluster_and_service(tmp_path: Path) -> Iterator[tuple[Cluster, str]]:
    server = postgres_harness.start_throwaway_cluster()
    try:
        dsn = server.create_database("voiceauth_faults")
        with running_service({"DATABASE_URL": dsn}, tmp_path / "service.log") as url:
            yield Cluster(server), url
    finally:
        server.stop()


def _upload(name: str) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (f"{name}.flac", (SPEECH / f"{name}.flac").read_bytes(), "audio/flac")}


async def test_a_database_outage_fails_fast_is_reported_and_heals(
    cluster_and_service: tuple[Cluster, str],
) -> None:
    cluster, base = cluster_and_service
    user = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=KEY) as client:
        enrolled = await client.post(f"/api/v1/users/{user}/enrollments", files=_upload("103_a"))
        assert enrolled.status_code == 200, enrolled.text
        acknowledged: list[str] = []

        async def verify() -> httpx.Response:
            response = await client.post(
                f"/api/v1/users/{user}/verifications", files=_upload("103_b")
            )
            if response.status_code == 200:
                acknowledged.append(response.json()["attemptId"])
            return response

        assert (await verify()).status_code == 200

        await asyncio.to_thread(cluster.stop)
        started = time.monotonic()
        during = [await verify() for _ in range(3)]
        for response in during:
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "StorageUnavailableError"
            assert response.headers["retry-after"] == "60"
        assert (time.monotonic() - started) / len(during) < 5.0  # fail fast, no hanging
        health = await client.get("/api/v1/health")
        assert health.status_code == 503
        assert health.json()["components"]["database"]["status"] == "down"
        assert (await client.get("/healthz")).status_code == 200  # liveness is unaffected

        await asyncio.to_thread(cluster.start)
        back = time.monotonic()
        while True:
            response = await verify()
            if response.status_code == 200:
                break
            assert time.monotonic() - back < 15, f"no recovery: {response.text}"
            await asyncio.sleep(0.5)
        recovered_after = time.monotonic() - back
        assert (await client.get("/api/v1/health")).status_code == 200

        history = await client.get(f"/api/v1/users/{user}/auth-history?limit=100")
        stored = {attempt["id"] for attempt in history.json()["attempts"]}
        assert set(acknowledged) <= stored
        assert recovered_after < 15
