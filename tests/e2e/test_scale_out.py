"""Scale-out on one machine: two replicas sharing PostgreSQL and Redis behind nginx.

nginx is configured from the same template compose.yaml mounts (deploy/nginx/). Requests come
from loopback, a trusted proxy here, so each test names its client with X-Forwarded-For and the
rate-limit buckets of the tests stay apart.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import string
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.service import API_KEY, Service, free_port, service_process
from tests.integration import postgres_harness
from tests.integration.real_model import SPEECH

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "voiceauth.conf.template"
REDIS_URL = "redis://127.0.0.1:6379/9"
LIMIT = 20


def _nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    assert found, "nginx is missing: `make system-deps` installs it"
    return found


class Cluster:
    def __init__(self, services: list[Service], proxy: str, logs: list[Path]) -> None:
        self.services = services
        self.logs = logs
        self.replicas = [service.url for service in services]
        self.proxy = proxy


def _render_nginx(folder: Path, upstreams: list[str], listen: str) -> Path:
    site = string.Template(TEMPLATE.read_text()).safe_substitute(
        VOICEAUTH_UPSTREAM_1=upstreams[0], VOICEAUTH_UPSTREAM_2=upstreams[1], NGINX_LISTEN=listen
    )
    (folder / "site.conf").write_text(site)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / sub).mkdir(exist_ok=True)
    conf = folder / "nginx.conf"
    # As root, nginx's workers would run as `nobody`, who cannot write the test's temp folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"""daemon off;
{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""
    )
    return conf


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("cluster")
    redis.Redis.from_url(REDIS_URL).flushdb()
    with ExitStack() as stack:
        dsn = stack.enter_context(postgres_harness.fresh_database("voiceauth_scale"))
        env = {
            "DATABASE_URL": dsn,
            "REDIS_URL": REDIS_URL,
            "RATE_LIMIT_PER_MINUTE": str(LIMIT),
            "TRUSTED_PROXIES": "127.0.0.1/32",
        }
        ports = [free_port(), free_port()]
        services = [
            stack.enter_context(service_process(env, folder / f"replica{i}.log", port=port))
            for i, port in enumerate(ports)
        ]
        listen = f"127.0.0.1:{free_port()}"
        conf = _render_nginx(folder, [f"127.0.0.1:{p}" for p in ports], listen)
        nginx = subprocess.Popen([_nginx(), "-c", str(conf), "-p", str(folder)])
        stack.callback(nginx.wait, 10)
        stack.callback(nginx.terminate)
        proxy = f"http://{listen}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{proxy}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, (folder / "error.log").read_text()
                time.sleep(0.2)
        yield Cluster(services, proxy, [folder / "replica0.log", folder / "replica1.log"])


def _headers(client: str) -> dict[str, str]:
    return {"X-API-Key": API_KEY, "X-Forwarded-For": client}


def _upload(name: str) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (f"{name}.flac", (SPEECH / f"{name}.flac").read_bytes(), "audio/flac")}


async def test_an_enrolment_made_on_one_replica_verifies_on_the_other(cluster: Cluster) -> None:
    user, who = str(uuid.uuid4()), _headers("198.51.100.1")
    async with httpx.AsyncClient(timeout=60) as client:
        enrolled = await client.post(
            f"{cluster.replicas[0]}/api/v1/users/{user}/enrollments",
            files=_upload("103_a"),
            headers=who,
        )
        assert enrolled.status_code == 200, enrolled.text
        verified = await client.post(
            f"{cluster.replicas[1]}/api/v1/users/{user}/verifications",
            files=_upload("103_b"),
            headers=who,
        )
        assert verified.status_code == 200, verified.text
        assert verified.json()["decision"] == "accept"
        history = await client.get(
            f"{cluster.replicas[0]}/api/v1/users/{user}/auth-history", headers=who
        )
        assert [a["id"] for a in history.json()["attempts"]] == [verified.json()["attemptId"]]


async def test_the_rate_limit_holds_across_both_replicas(cluster: Cluster) -> None:
    # Stay inside one one-minute window of the limiter.
    if time.time() % 60 > 50:
        await asyncio.sleep(61 - time.time() % 60)
    who = _headers("198.51.100.2")
    async with httpx.AsyncClient(timeout=30) as client:
        codes = [
            (await client.get(f"{cluster.replicas[i % 2]}/api/v1/users", headers=who)).status_code
            for i in range(LIMIT + 2)
        ]
    assert codes[:LIMIT] == [200] * LIMIT
    assert codes[LIMIT:] == [429, 429]


async def test_stopping_a_replica_mid_load_loses_no_acknowledged_attempt(cluster: Cluster) -> None:
    user, who = str(uuid.uuid4()), _headers("198.51.100.3")
    async with httpx.AsyncClient(timeout=90) as client:
        enrolled = await client.post(
            f"{cluster.proxy}/api/v1/users/{user}/enrollments", files=_upload("1098_a"), headers=who
        )
        assert enrolled.status_code == 200, enrolled.text

        async def verify(index: int) -> httpx.Response | None:
            await asyncio.sleep(index * 0.15)
            try:
                return await client.post(
                    f"{cluster.proxy}/api/v1/users/{user}/verifications",
                    files=_upload("1098_b"),
                    headers=who,
                )
            except httpx.HTTPError:
                return None

        async def stop_one_replica() -> None:
            await asyncio.sleep(0.8)
            cluster.services[0].process.send_signal(signal.SIGTERM)

        responses = await asyncio.gather(*(verify(i) for i in range(12)), stop_one_replica())
        acknowledged = [
            r.json()["attemptId"] for r in responses[:-1] if r is not None and r.status_code == 200
        ]
        assert len(acknowledged) >= 8  # the surviving replica carried the load
        history = await client.get(
            f"{cluster.proxy}/api/v1/users/{user}/auth-history?limit=100", headers=who
        )
        stored = {a["id"] for a in history.json()["attempts"]}
    assert set(acknowledged) <= stored
    # A graceful stop: uvicorn finishes the requests in flight, then re-raises the SIGTERM.
    assert cluster.services[0].process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in cluster.logs[0].read_text()
