"""Passive verification, black box: the real service and model, a VAPI-like listen server playing
calls at real speed, VAPI's server messages through the public API.

``status-update`` (``in-progress``) -> 8 s of the caller speaking -> ``tool-calls verify_voice``:
the answer arrives within a second, right for a genuine caller and for an impostor, in stereo and
in mono; and the same with the tool call landing on the other replica of a two-replica set-up.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.service import API_KEY, TOOL_SECRET, running_service
from tests.e2e.test_scale_out import Cluster, cluster  # noqa: F401 - the two-replica fixture
from tests.integration.real_model import SPEECH, speech
from voiceauth_adapters.vapi.testing import ListenCall, VapiListenServer
from voiceauth_core import Audio

pytestmark = pytest.mark.e2e

EVENTS = "/api/v1/vapi/events"
SPOKEN_S = 8.0
CASES = {  # caller -> how the answer starts
    "genuine": (("103_b", "103_a"), "Voice verified"),
    "impostor": (("1098_b", "1098_a"), "Voice not verified"),
}


def _headers(client: str) -> dict[str, str]:
    return {"X-Vapi-Secret": TOOL_SECRET, "X-API-Key": API_KEY, "X-Forwarded-For": client}


def _message(kind: str, call_id: str, url: str, **fields: object) -> dict[str, object]:
    call = {"id": call_id, "monitor": {"listenUrl": url}}
    return {"message": {"type": kind, "call": call, **fields}}


def _verify_voice(call_id: str, url: str, user: str) -> dict[str, object]:
    item = {
        "id": "tool-1",
        "type": "function",
        "function": {"name": "verify_voice", "arguments": json.dumps({"userId": user})},
    }
    return _message("tool-calls", call_id, url, toolCallList=[item])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("passive")
    env = {"VOICEAUTH_DATA_DIR": str(folder), "RATE_LIMIT_PER_MINUTE": "0"}
    with running_service(env, folder / "service.log") as url:
        yield url


async def _enrol(base: str, user: str, client: str) -> None:
    sample = (SPEECH / "103_a.flac").read_bytes()
    async with httpx.AsyncClient(timeout=60) as http:
        enrolled = await http.post(
            f"{base}/api/v1/users/{user}/enrollments",
            files={"file": ("103_a.flac", sample, "audio/flac")},
            headers=_headers(client),
        )
        assert enrolled.status_code == 200, enrolled.text


async def _passive_call(
    calls: VapiListenServer,
    *,
    start_at: str,
    ask_at: str,
    user: str,
    caller: Audio,
    channels: int,
    client: str,
) -> tuple[float, str, str]:
    """(seconds from the tool call to its answer, the answer, the call id)."""
    call_id = f"e2e-{uuid.uuid4()}"
    assistant = speech("1088_a") if channels == 2 else None
    call = ListenCall(caller=caller, assistant=assistant, channels=channels, speed=1.0)
    url = calls.add(call)
    async with httpx.AsyncClient(timeout=60) as http:
        started = await http.post(
            f"{start_at}{EVENTS}",
            json=_message("status-update", call_id, url, status="in-progress"),
            headers=_headers(client),
        )
        assert started.status_code == 200, started.text
        assert started.json() == {}
        while call.time_sent(SPOKEN_S) is None:  # noqa: ASYNC110 - no event per frame
            await asyncio.sleep(0.02)
        began = time.perf_counter()
        answer = await http.post(
            f"{ask_at}{EVENTS}", json=_verify_voice(call_id, url, user), headers=_headers(client)
        )
        elapsed = time.perf_counter() - began
        assert answer.status_code == 200, answer.text
        [result] = answer.json()["results"]
        assert result["toolCallId"] == "tool-1"
        assert result["name"] == "verify_voice"
        ended = await http.post(
            f"{ask_at}{EVENTS}",
            json=_message("end-of-call-report", call_id, url),
            headers=_headers(client),
        )
        assert ended.status_code == 200
    await asyncio.wait_for(call.disconnected.wait(), 10)  # the session let the socket go
    return elapsed, str(result["result"]), call_id


@pytest.mark.parametrize("channels", [2, 1], ids=["stereo", "mono"])
async def test_a_caller_who_spoke_for_8_s_is_answered_within_a_second(
    service: str, channels: int
) -> None:
    user, client = str(uuid.uuid4()), f"203.0.113.{channels}"
    await _enrol(service, user, client)
    async with VapiListenServer() as calls:
        for names, expected in CASES.values():
            caller = Audio.concatenate([speech(name) for name in names])
            elapsed, sentence, _ = await _passive_call(
                calls,
                start_at=service,
                ask_at=service,
                user=user,
                caller=caller,
                channels=channels,
                client=client,
            )
            assert sentence.startswith(expected), sentence
            assert elapsed < 1.0, f"{elapsed:.2f} s"
    async with httpx.AsyncClient(timeout=60) as http:
        history = await http.get(
            f"{service}/api/v1/users/{user}/auth-history", headers=_headers(client)
        )
    attempts = history.json()["attempts"]
    assert [a["decision"] for a in attempts] == ["reject", "accept"]  # one per decision


async def test_the_tool_call_may_land_on_the_other_replica(cluster: Cluster) -> None:  # noqa: F811
    user, client = str(uuid.uuid4()), "198.51.100.77"
    await _enrol(cluster.replicas[0], user, client)
    async with VapiListenServer() as calls:
        for names, expected in CASES.values():
            caller = Audio.concatenate([speech(name) for name in names])
            elapsed, sentence, _ = await _passive_call(
                calls,
                start_at=cluster.replicas[0],
                ask_at=cluster.replicas[1],
                user=user,
                caller=caller,
                channels=2,
                client=client,
            )
            assert sentence.startswith(expected), sentence
            assert elapsed < 1.0, f"{elapsed:.2f} s"
