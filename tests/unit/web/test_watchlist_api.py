"""The fraud watchlist over HTTP, on the core's fakes: report-fraud, add, list, read, erase, and
the ``watchlist`` every verification and enrolment response carries."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.unit.web.app_harness import fake_app
from voiceauth_core.testing import ALICE, BOB, SyntheticSpeaker, wav_bytes
from voiceauth_web.presenters import WATCHLIST_MESSAGE

pytestmark = pytest.mark.unit

ENTRY_KEYS = {"entryId", "label", "note", "source", "modelId", "createdAt"}


def upload(who: SyntheticSpeaker, seed: int) -> dict[str, Any]:
    return {"file": ("a.wav", wav_bytes(who.voice(seconds=5.0, seed=seed)), "audio/wav")}


async def _enrol(client: AsyncTestClient[Any], who: SyntheticSpeaker, seed: int) -> str:
    user = str(uuid.uuid4())
    enrolled = await client.post(f"/api/v1/users/{user}/enrollments", files=upload(who, seed))
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["watchlist"] is None
    return user


async def test_report_fraud_then_the_same_voice_is_rejected_on_any_account(
    tmp_path: Path,
) -> None:
    app = fake_app(tmp_path, watchlist_threshold=0.82, watchlist_action="reject")
    async with AsyncTestClient(app) as client:
        alice = await _enrol(client, ALICE, 1)
        first = await client.post(f"/api/v1/users/{alice}/verifications", files=upload(ALICE, 2))
        body = first.json()
        assert body["decision"] == "accept", body
        assert body["watchlist"] is None
        reported = await client.post(
            f"/api/v1/attempts/{body['attemptId']}/report-fraud",
            json={"label": "account takeover", "note": "confirmed by the customer"},
        )
        assert reported.status_code == 201, reported.text
        entry = reported.json()
        assert set(entry) == ENTRY_KEYS
        assert entry["source"] == f"attempt:{body['attemptId']}"

        again = await client.post(f"/api/v1/users/{alice}/verifications", files=upload(ALICE, 3))
        rejected = again.json()
        assert rejected["decision"] == "reject"
        assert rejected["success"] is False
        assert rejected["message"] == WATCHLIST_MESSAGE
        assert rejected["watchlist"]["matched"] is True
        assert rejected["watchlist"]["entryId"] == entry["entryId"]
        assert rejected["watchlist"]["label"] == "account takeover"
        assert 0.82 <= rejected["watchlist"]["score"] <= 1.0

        history = (await client.get(f"/api/v1/users/{alice}/auth-history")).json()
        assert history["attempts"][0]["watchlist"]["entryId"] == entry["entryId"]
        assert history["attempts"][1]["watchlist"] is None

        bob = await _enrol(client, BOB, 4)
        clean = await client.post(f"/api/v1/users/{bob}/verifications", files=upload(BOB, 5))
        assert clean.json()["decision"] == "accept"
        assert clean.json()["watchlist"] is None

        metrics = (await client.get("/metrics")).text
    assert 'voiceauth_watchlist_hits_total{action="reject",use="verify"} 1.0' in metrics


async def test_flag_mode_keeps_the_decision_and_enrolment_is_flagged(tmp_path: Path) -> None:
    app = fake_app(tmp_path, watchlist_threshold=0.82)
    async with AsyncTestClient(app) as client:
        added = await client.post(
            "/api/v1/watchlist", files=upload(ALICE, 1), data={"label": "voice from a report"}
        )
        assert added.status_code == 201, added.text
        assert added.json()["source"] == "upload"
        assert added.json()["note"] == ""
        user = str(uuid.uuid4())
        enrolled = await client.post(f"/api/v1/users/{user}/enrollments", files=upload(ALICE, 2))
        assert enrolled.status_code == 200
        assert enrolled.json()["watchlist"]["entryId"] == added.json()["entryId"]
        verified = await client.post(f"/api/v1/users/{user}/verifications", files=upload(ALICE, 3))
        assert verified.json()["decision"] == "accept"
        assert verified.json()["watchlist"]["entryId"] == added.json()["entryId"]


async def test_an_enrolment_of_a_watchlisted_voice_may_be_refused(tmp_path: Path) -> None:
    app = fake_app(tmp_path, watchlist_threshold=0.82, watchlist_enroll_action="refuse")
    async with AsyncTestClient(app) as client:
        await client.post("/api/v1/watchlist", files=upload(ALICE, 1), data={"label": "known"})
        user = str(uuid.uuid4())
        refused = await client.post(f"/api/v1/users/{user}/enrollments", files=upload(ALICE, 2))
        assert refused.status_code == 422
        assert refused.json()["error"] == "AudioProcessingError"
        assert (await client.get(f"/api/v1/users/{user}")).status_code == 404


async def test_the_watchlist_is_listed_read_and_erased(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        ids = []
        for seed, label in ((1, "first"), (2, "second"), (3, "third")):
            added = await client.post(
                "/api/v1/watchlist",
                files=upload(ALICE if seed != 2 else BOB, seed),
                data={"label": label, "note": f"note {seed}"},
            )
            assert added.status_code == 201, added.text
            ids.append(added.json()["entryId"])
        page = (await client.get("/api/v1/watchlist", params={"limit": 2})).json()
        assert [e["label"] for e in page["entries"]] == ["third", "second"]
        rest = (
            await client.get("/api/v1/watchlist", params={"limit": 2, "cursor": page["nextCursor"]})
        ).json()
        assert [e["label"] for e in rest["entries"]] == ["first"]
        assert rest["nextCursor"] is None
        one = await client.get(f"/api/v1/watchlist/{ids[1]}")
        assert one.status_code == 200
        assert one.json()["note"] == "note 2"
        assert "embedding" not in one.text
        assert "vector" not in one.text
        assert (await client.delete(f"/api/v1/watchlist/{ids[1]}")).status_code == 204
        gone = await client.get(f"/api/v1/watchlist/{ids[1]}")
        assert gone.status_code == 404
        assert gone.json()["error"] == "NotFoundError"
        assert (await client.delete(f"/api/v1/watchlist/{ids[1]}")).status_code == 404


async def test_bad_watchlist_requests_are_refused(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        missing = await client.post(
            f"/api/v1/attempts/{uuid.uuid4()}/report-fraud", json={"label": "x"}
        )
        assert missing.status_code == 404
        assert missing.json()["error"] == "NotFoundError"
        bad_id = await client.post("/api/v1/attempts/not-a-uuid/report-fraud", json={"label": "x"})
        assert bad_id.status_code == 400
        no_label = await client.post("/api/v1/watchlist", json={"audioUrl": "http://x/a.wav"})
        assert no_label.status_code == 400
        unknown = await client.post(
            "/api/v1/watchlist", json={"audioUrl": "http://x/a.wav", "label": "x", "extra": 1}
        )
        assert unknown.status_code == 400
        text = await client.post(
            "/api/v1/watchlist", content=b"label=x", headers={"content-type": "text/plain"}
        )
        assert text.status_code == 415
        empty_label = await client.post(
            "/api/v1/watchlist", files=upload(ALICE, 1), data={"label": " "}
        )
        assert empty_label.status_code == 400
        no_file = await client.post(
            "/api/v1/watchlist", files={"other": ("a.txt", b"x", "text/plain")}, data={"label": "x"}
        )
        assert no_file.status_code == 400
        assert (await client.get("/api/v1/watchlist/zzz")).status_code == 400
