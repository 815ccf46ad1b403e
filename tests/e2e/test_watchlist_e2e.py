"""End to end: report an attempt's voice as fraud, and the same voice is rejected on another
account (the real service, the real model, SQLite)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.service import API_KEY, running_service
from tests.integration.real_model import SPEECH

pytestmark = pytest.mark.e2e

KEY = {"X-API-Key": API_KEY}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    # The operating point is measured by `voiceauth eval --watchlist` (docs/accuracy.md); here a
    # lower threshold, as the reported probe is the few seconds an early decision was made on.
    env = {
        "VOICEAUTH_DATA_DIR": str(tmp_path / "data"),
        "VOICEAUTH_WATCHLIST_ACTION": "reject",
        "VOICEAUTH_WATCHLIST_THRESHOLD": "0.9",
    }
    with running_service(env, tmp_path / "log") as url:
        yield url


def _file(name: str) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (f"{name}.flac", (SPEECH / f"{name}.flac").read_bytes(), "audio/flac")}


async def test_a_reported_voice_is_rejected_on_another_account(service: str) -> None:
    first_account, second_account = str(uuid.uuid4()), str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=service, timeout=120, headers=KEY) as client:
        # The fraudster (speaker 103) holds two accounts, enrolled with their own voice.
        for account, clip in ((first_account, "103_a"), (second_account, "103_b")):
            enrolled = await client.post(f"/api/v1/users/{account}/enrollments", files=_file(clip))
            assert enrolled.status_code == 200, enrolled.text
            assert enrolled.json()["watchlist"] is None
        before = await client.post(
            f"/api/v1/users/{second_account}/verifications", files=_file("103_a")
        )
        assert before.json()["decision"] == "accept", before.text
        assert before.json()["watchlist"] is None

        # The fraud team reports a call on the first account.
        call = await client.post(
            f"/api/v1/users/{first_account}/verifications", files=_file("103_b")
        )
        assert call.status_code == 200, call.text
        reported = await client.post(
            f"/api/v1/attempts/{call.json()['attemptId']}/report-fraud",
            json={"label": "repeat caller", "note": "two accounts, one voice"},
        )
        assert reported.status_code == 201, reported.text
        entry = reported.json()["entryId"]
        listed = (await client.get("/api/v1/watchlist")).json()["entries"]
        assert [e["entryId"] for e in listed] == [entry]

        # The same voice on the second account: matched, and rejected.
        after = await client.post(
            f"/api/v1/users/{second_account}/verifications", files=_file("103_a")
        )
        body = after.json()
        assert body["decision"] == "reject", body
        assert body["success"] is False
        assert body["watchlist"]["entryId"] == entry
        assert body["watchlist"]["matched"] is True
        # Another speaker's voice is not matched.
        other = str(uuid.uuid4())
        await client.post(f"/api/v1/users/{other}/enrollments", files=_file("1088_a"))
        clean = await client.post(f"/api/v1/users/{other}/verifications", files=_file("1088_b"))
        assert clean.json()["watchlist"] is None
        metrics = (await client.get("/metrics")).text
        assert 'voiceauth_watchlist_hits_total{action="reject",use="verify"} 1.0' in metrics
        # Erasing the entry ends the matches.
        assert (await client.delete(f"/api/v1/watchlist/{entry}")).status_code == 204
        again = await client.post(
            f"/api/v1/users/{second_account}/verifications", files=_file("103_a")
        )
        assert again.json()["decision"] == "accept"
        assert again.json()["watchlist"] is None
