"""``/metrics`` needs the API key whenever keys are set; liveness and readiness stay open."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from tests.unit.web.app_harness import fake_app

pytestmark = pytest.mark.unit


async def test_metrics_need_an_api_key_when_keys_are_set(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path, api_keys=("k1", "k2"))) as client:
        for path in ("/metrics", "/metrics/"):
            refused = await client.get(path)
            assert refused.status_code == 401, path
            assert refused.json()["error"] == "AuthenticationError"
            assert refused.headers["www-authenticate"] == 'Bearer realm="voiceauth"'
            assert "voiceauth_" not in refused.text
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        bearer = await client.get("/metrics", headers={"Authorization": "Bearer k1"})
        assert bearer.status_code == 200
        assert "voiceauth_http_requests_total" in bearer.text
        assert (await client.get("/metrics", headers={"X-API-Key": "k2"})).status_code == 200
        # Probes carry no key.
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/api/v1/health")).status_code == 200


async def test_metrics_are_open_without_keys(tmp_path: Path) -> None:
    # No keys is allowed only on loopback (Settings.check refuses it elsewhere).
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "voiceauth_http_requests_total" in response.text


async def test_scrapes_are_not_rate_limited(tmp_path: Path) -> None:
    app = fake_app(tmp_path, api_keys=("k1",), rate_limit_per_minute=1)
    key = {"Authorization": "Bearer k1"}
    async with AsyncTestClient(app) as client:
        assert (await client.get("/api/v1/users", headers=key)).status_code == 200
        assert (await client.get("/api/v1/users", headers=key)).status_code == 429
        scrapes = [(await client.get("/metrics", headers=key)).status_code for _ in range(3)]
    assert scrapes == [200, 200, 200]
