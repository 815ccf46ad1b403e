"""End to end: ``TRUSTED_PROXIES`` is the one rule for whose ``X-Forwarded-For`` is believed.

uvicorn's own proxy-header handling trusts loopback by default; were it on, a client on
loopback could pick a new rate-limit bucket per request by sending a new ``X-Forwarded-For``.
"""

from __future__ import annotations

import time
import uuid
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from tests.e2e.service import API_KEY, running_service

pytestmark = pytest.mark.e2e

LIMIT = 5


def statuses_with_spoofed_addresses(base: str) -> list[int]:
    """``LIMIT + 3`` requests from loopback, each claiming a different client address."""
    if time.time() % 60 > 55:  # one burst in one minute of the fixed window
        time.sleep(60 - time.time() % 60)
    user = uuid.uuid4()
    with httpx.Client(base_url=base, timeout=10) as client:
        return [
            client.get(
                f"/api/v1/users/{user}",
                headers={"X-API-Key": API_KEY, "X-Forwarded-For": f"203.0.113.{index}"},
            ).status_code
            for index in range(1, LIMIT + 4)
        ]


def serve(tmp_path: Path, **env: str) -> AbstractContextManager[str]:
    return running_service(
        {
            "VOICEAUTH_DATA_DIR": str(tmp_path / "data"),
            "VOICEAUTH_SPOOF_CHECK": "0",
            "RATE_LIMIT_PER_MINUTE": str(LIMIT),
            **env,
        },
        tmp_path / "log",
    )


def test_a_forwarded_for_header_from_an_untrusted_peer_changes_nothing(tmp_path: Path) -> None:
    with serve(tmp_path) as base:  # no TRUSTED_PROXIES: loopback is a client like any other
        statuses = statuses_with_spoofed_addresses(base)
    assert statuses == [404] * LIMIT + [429] * 3  # one bucket: the peer's


def test_a_trusted_proxy_forwards_each_clients_address(tmp_path: Path) -> None:
    with serve(tmp_path, TRUSTED_PROXIES="127.0.0.1") as base:
        statuses = statuses_with_spoofed_addresses(base)
    assert statuses == [404] * (LIMIT + 3)  # a bucket per forwarded client
