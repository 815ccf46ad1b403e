"""End to end: the real service over HTTP, the real model, SQLite and Postgres, a local audio file
server and a local VAPI-compatible listen server."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.service import API_KEY, TOOL_SECRET, running_service
from tests.integration import postgres_harness
from tests.integration.real_model import SPEECH, speech
from voiceauth_adapters.audio import phone_channel
from voiceauth_adapters.http.testing import AudioFileServer, Route
from voiceauth_adapters.vapi.testing import ListenCall, VapiListenServer, tool_call_message

pytestmark = pytest.mark.e2e

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(params=["sqlite", "postgres"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        with running_service(
            {"VOICEAUTH_DATA_DIR": str(tmp_path / "data")}, tmp_path / "log"
        ) as url:
            yield url
    else:
        with (
            postgres_harness.fresh_database("voiceauth_e2e") as dsn,
            running_service({"DATABASE_URL": dsn}, tmp_path / "log") as url,
        ):
            yield url


async def test_enrol_verify_history_tool_call_and_erase(service: str) -> None:
    user, phone = str(uuid.uuid4()), "+14155550142"
    files = AudioFileServer()
    files.add(
        "/alice.flac", Route(body=(SPEECH / "103_a.flac").read_bytes(), content_type="audio/flac")
    )
    calls = VapiListenServer()
    async with files, calls, httpx.AsyncClient(base_url=service, timeout=60) as client:
        # Enrol from a URL, as the original service did.
        enrolled = await client.post(
            "/api/v1/enroll-user",
            json={"userId": user, "phone": phone, "audioUrl": files.url("/alice.flac")},
            headers=KEY,
        )
        assert enrolled.status_code == 200, enrolled.text
        assert enrolled.json()["status"] == "enrolled"
        assert enrolled.json()["sampleCount"] == 1
        assert enrolled.json()["phoneBandVoiceprint"] is True
        stored = (await client.get(f"/api/v1/users/{user}", headers=KEY)).json()
        assert stored["phoneBandVoiceprint"] is True  # the store kept it

        # The enrolled caller on channel 0, another voice on the assistant's channel.
        genuine = calls.add(
            ListenCall(caller=speech("103_b"), assistant=speech("1098_a"), speed=4.0)
        )
        accepted = await client.post(
            "/api/v1/verify-password", json={"userId": user, "listenUrl": genuine}, headers=KEY
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["success"] is True
        assert accepted.json()["decision"] == "accept"
        # Every scored verification carries the synthetic-speech check's probability and risk.
        assert 0.0 <= accepted.json()["spoofScore"] <= 1.0
        assert accepted.json()["spoofRisk"] in ("low", "elevated")

        # The same caller over a phone line (8 kHz G.711 heard back, as an 8 kHz stream): the
        # wide-band enrolment is compared with its phone-band voiceprint.
        over_phone = calls.add(
            ListenCall(caller=phone_channel(speech("103_b")), sample_rate=8000, speed=4.0)
        )
        phoned = await client.post(
            "/api/v1/verify-password", json={"userId": user, "listenUrl": over_phone}, headers=KEY
        )
        assert phoned.status_code == 200, phoned.text
        assert phoned.json()["decision"] == "accept", phoned.text

        # An impostor calls while the assistant's channel carries the enrolled voice: rejected,
        # because only the customer's channel is heard.
        impostor = calls.add(
            ListenCall(caller=speech("1098_b"), assistant=speech("103_b"), speed=4.0)
        )
        rejected = await client.post(
            "/api/v1/verify-password", json={"phone": phone, "listenUrl": impostor}, headers=KEY
        )
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["success"] is False
        assert rejected.json()["decision"] == "reject"

        history = (await client.get(f"/api/v1/users/{user}/auth-history", headers=KEY)).json()
        assert [a["success"] for a in history["attempts"]] == [False, True, True]
        assert all(a["spoofRisk"] is not None for a in history["attempts"])  # the log keeps it

        # VAPI calls the tool with its secret; the listen URL comes from the call object.
        tool_call = tool_call_message(
            {"phone": phone},
            listen_url=calls.add(ListenCall(caller=speech("103_b"), speed=4.0)),
            customer_number=phone,
        )
        answer = await client.post(
            "/api/v1/vapi/tool-calls", json=tool_call, headers={"X-Vapi-Secret": TOOL_SECRET}
        )
        assert answer.status_code == 200, answer.text
        result = answer.json()["results"][0]
        assert result["toolCallId"] == "call_tool_1"
        assert result["result"].startswith("Voice verified")

        assert (await client.delete(f"/api/v1/users/{user}", headers=KEY)).status_code == 204
        gone = await client.get(f"/api/v1/users/{user}/auth-history", headers=KEY)
        assert gone.status_code == 404
        assert gone.json()["error"] == "UserNotFoundError"
        assert (
            await client.get("/api/v1/users", headers={"X-API-Key": "wrong"})
        ).status_code == 401


async def test_clearly_synthetic_enrolment_audio_is_refused(service: str, tmp_path: Path) -> None:
    """A text-to-speech voice (espeak-ng, from `make system-deps`) cannot become a voiceprint."""
    wav = tmp_path / "tts.wav"
    text = "My name is Alice and I would like to check the balance of my savings account today."
    await asyncio.to_thread(
        subprocess.run,
        ["espeak-ng", "-v", "en-us", "-w", str(wav), text],
        check=True,
        timeout=60,
    )
    user = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=service, timeout=60) as client:
        refused = await client.post(
            f"/api/v1/users/{user}/enrollments",
            files={"file": ("tts.wav", wav.read_bytes(), "audio/wav")},
            headers=KEY,
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "AudioProcessingError"
        assert "synthetic" in refused.json()["message"]
        assert (await client.get(f"/api/v1/users/{user}", headers=KEY)).status_code == 404
