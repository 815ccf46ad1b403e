"""VAPI's routes limited per credential across replicas sharing real Redis, all from one address."""

from __future__ import annotations

import hmac
import json
import secrets
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.running_app import served_app

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/11"
ROUTE = "/api/v1/vapi/tool-calls"
BODY = json.dumps({"message": {"type": "tool-calls", "toolCallList": [], "call": {}}}).encode()


def inside_one_window() -> None:
    """Start well inside a one-minute window, so the counts cannot reset mid-test."""
    if time.time() % 60 > 55:
        time.sleep(60 - time.time() % 60 + 0.1)


def test_many_requests_from_one_address_are_limited_per_credential(tmp_path: Path) -> None:
    token, key = secrets.token_hex(16), secrets.token_hex(16)  # fresh: fresh Redis counters
    settings = {
        "vapi_tool_secret": token,
        "vapi_hmac_secret": key,
        "rate_limit_per_minute": 4,
        "redis_url": REDIS_URL,
    }
    header = {"X-Vapi-Secret": token, "content-type": "application/json"}
    inside_one_window()
    with (
        served_app(tmp_path / "a", **settings) as first,
        served_app(tmp_path / "b", **settings) as second,
    ):
        # Two replicas, one client address (127.0.0.1): the credential's count is shared.
        codes = [
            httpx.post(f"{base}{ROUTE}", content=BODY, headers=header, timeout=10).status_code
            for base in (first, second, first, second, first)
        ]
        assert codes == [200, 200, 200, 200, 429]
        # Another credential from the same address still gets through, on either replica.
        stamp = str(int(time.time()))
        signature = hmac.new(key.encode(), stamp.encode() + b"." + BODY, "sha256").hexdigest()
        signed = {
            "x-signature": signature,
            "x-timestamp": stamp,
            "content-type": "application/json",
        }
        answer = httpx.post(f"{second}{ROUTE}", content=BODY, headers=signed, timeout=10)
        assert answer.status_code == 200, answer.text
        bearer = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
        answer = httpx.post(f"{first}{ROUTE}", content=BODY, headers=bearer, timeout=10)
        assert answer.status_code == 200, answer.text
