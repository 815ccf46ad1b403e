"""End to end: the running service identifies an enrolled caller among two, and no one for a
stranger, from an upload and from a live call (real model, SQLite)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.service import API_KEY, running_service
from tests.integration.real_model import SPEECH, speech
from voiceauth_adapters.vapi.testing import ListenCall, VapiListenServer

pytestmark = pytest.mark.e2e

KEY = {"X-API-Key": API_KEY}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    with running_service({"VOICEAUTH_DATA_DIR": str(tmp_path / "data")}, tmp_path / "log") as url:
        yield url


def _file(name: str) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (f"{name}.flac", (SPEECH / f"{name}.flac").read_bytes(), "audio/flac")}


async def test_identify_the_enrolled_caller_and_no_one_for_a_stranger(service: str) -> None:
    users = {speaker: str(uuid.uuid4()) for speaker in ("103", "1088")}
    calls = VapiListenServer()
    async with calls, httpx.AsyncClient(base_url=service, timeout=60) as client:
        for speaker, user in users.items():
            enrolled = await client.post(
                f"/api/v1/users/{user}/enrollments", files=_file(f"{speaker}_a"), headers=KEY
            )
            assert enrolled.status_code == 200, enrolled.text

        found = await client.post("/api/v1/identify", files=_file("103_b"), headers=KEY)
        assert found.status_code == 200, found.text
        body = found.json()
        assert body["match"] == users["103"], body
        assert body["candidates"][0]["userId"] == users["103"]
        assert body["gallerySize"] == 2
        assert body["falseMatchProbability"] < 0.18

        stranger = await client.post("/api/v1/identify", files=_file("1098_b"), headers=KEY)
        assert stranger.status_code == 200, stranger.text
        assert stranger.json()["match"] is None, stranger.text
        assert stranger.json()["outcome"] == "no_match"

        live = calls.add(ListenCall(caller=speech("1088_b"), speed=4.0))
        heard = await client.post("/api/v1/identify", json={"listenUrl": live}, headers=KEY)
        assert heard.status_code == 200, heard.text
        assert heard.json()["match"] == users["1088"], heard.text

        refused = await client.post("/api/v1/identify", files=_file("103_b"))
        assert refused.status_code == 401
