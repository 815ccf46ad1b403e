"""Passive verification through the app's VAPI server URL, against a real local listen server.

The model, detector and stores are the core's fakes (so that a thousand calls run in seconds);
the listen sockets, the HTTP app and the call sessions are the real ones.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.unit.web.app_harness import fake_container
from voiceauth_adapters.vapi.testing import Failure, ListenCall, VapiListenServer
from voiceauth_core.call_session import CallSession
from voiceauth_core.testing import ALICE, BOB, wav_bytes
from voiceauth_web.app import create_app
from voiceauth_web.containers import Container

pytestmark = pytest.mark.integration

EVENTS = "/api/v1/vapi/events"
SECRET = {"X-Vapi-Secret": "s3cret"}


def status_update(call_id: str, status: str, listen_url: str, **call: Any) -> dict[str, Any]:
    return {
        "message": {
            "type": "status-update",
            "status": status,
            "call": {"id": call_id, "monitor": {"listenUrl": listen_url}, **call},
        }
    }


def end_of_call(call_id: str) -> dict[str, Any]:
    return {"message": {"type": "end-of-call-report", "call": {"id": call_id}}}


def tool_calls(
    call_id: str,
    listen_url: str,
    calls: list[tuple[str, str, dict[str, Any]]],
    *,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """A ``tool-calls`` message: (id, tool name, arguments) per call, the tools' timeouts in
    ``toolWithToolCallList`` as VAPI sends them."""
    items: list[dict[str, Any]] = [
        {"id": ident, "type": "function", "function": {"name": name, "arguments": json.dumps(a)}}
        for ident, name, a in calls
    ]
    message: dict[str, Any] = {
        "type": "tool-calls",
        "toolCallList": items,
        "call": {"id": call_id, "monitor": {"listenUrl": listen_url}},
    }
    if timeout_s is not None:
        message["toolWithToolCallList"] = [
            {
                "type": "function",
                "function": {"name": item["function"]["name"]},
                "server": {
                    "url": "https://voiceauth.example/api/v1/vapi/events",
                    "timeoutSeconds": timeout_s,
                },
                "toolCall": item,
            }
            for item in items
        ]
    return {"message": message}


def open_fds() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


@pytest.fixture
def calls() -> Iterator[VapiListenServer]:
    """The listen server on a loop of its own: the test client's requests block the test's loop
    (the app runs in the client's thread), and a call must go on playing meanwhile."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = VapiListenServer()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def _released(call: ListenCall, timeout_s: float = 5.0) -> None:
    """Returns once the call's listen socket was let go (the server runs on another loop)."""
    deadline = time.monotonic() + timeout_s
    while not call.disconnected.is_set():
        assert time.monotonic() < deadline, "the listen socket was not released"
        await asyncio.sleep(0.005)


async def _enrol(client: AsyncTestClient[Any], user: str, seed: int = 1) -> None:
    audio = ALICE.voice(seconds=6.0, seed=seed)
    files = {"file": ("a.wav", wav_bytes(audio), "audio/wav")}
    enrolled = await client.post(f"/api/v1/users/{user}/enrollments", files=files)
    assert enrolled.status_code == 200, enrolled.text


def _container(tmp_path: Path, **overrides: Any) -> Container:
    # No rate limit: a thousand calls come from one client here.
    return fake_container(tmp_path, vapi_tool_secret="s3cret", rate_limit_per_minute=0, **overrides)


async def test_a_caller_heard_since_call_start_is_answered_at_once(
    tmp_path: Path, calls: VapiListenServer
) -> None:
    container = _container(tmp_path)
    user, call_id = str(uuid.uuid4()), f"call-{uuid.uuid4()}"
    async with AsyncTestClient(create_app(container)) as client:
        await _enrol(client, user)
        genuine = ListenCall(caller=ALICE.voice(seconds=6.0, seed=7), speed=8.0)
        url = calls.add(genuine)
        started = await client.post(
            EVENTS, headers=SECRET, json=status_update(call_id, "in-progress", url)
        )
        assert started.status_code == 200
        assert started.json() == {}
        await asyncio.wait_for(_sent(genuine, 5.0), 10)
        await asyncio.sleep(0.3)

        began = time.perf_counter()
        answer = await client.post(
            EVENTS,
            headers=SECRET,
            json=tool_calls(call_id, url, [("t1", "verify_voice", {"userId": user})]),
        )
        elapsed = time.perf_counter() - began
        assert answer.status_code == 200, answer.text
        [result] = answer.json()["results"]
        assert result == {
            "toolCallId": "t1",
            "name": "verify_voice",
            "result": "Voice verified: the caller matches the account holder.",
        }
        assert elapsed < 1.0

        ended = await client.post(EVENTS, headers=SECRET, json=end_of_call(call_id))
        assert ended.status_code == 200
        await _released(genuine)  # the socket is released
        assert call_id not in container.call_sessions()
        history = (await client.get(f"/api/v1/users/{user}/auth-history")).json()["attempts"]
        assert len(history) == 1  # one attempt per decision
        assert history[0]["decision"] == "accept"


async def test_identify_caller_answers_from_the_speech_heard_since_call_start(
    tmp_path: Path, calls: VapiListenServer
) -> None:
    container = _container(tmp_path)
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    async with AsyncTestClient(create_app(container)) as client:
        await _enrol(client, alice)
        audio = BOB.voice(seconds=6.0, seed=1)
        files = {"file": ("b.wav", wav_bytes(audio), "audio/wav")}
        assert (await client.post(f"/api/v1/users/{bob}/enrollments", files=files)).is_success
        for caller, expected in ((ALICE, alice), (BOB, bob)):
            call_id = f"call-{uuid.uuid4()}"
            heard = ListenCall(caller=caller.voice(seconds=6.0, seed=7), speed=8.0)
            url = calls.add(heard)
            update = status_update(call_id, "in-progress", url)
            assert (await client.post(EVENTS, headers=SECRET, json=update)).status_code == 200
            await asyncio.wait_for(_sent(heard, 5.0), 10)
            await asyncio.sleep(0.3)
            began = time.perf_counter()
            answer = await client.post(
                EVENTS,
                headers=SECRET,
                json=tool_calls(call_id, url, [("t1", "identify_caller", {})]),
            )
            elapsed = time.perf_counter() - began
            [result] = answer.json()["results"]
            assert result["name"] == "identify_caller"
            assert result["result"].startswith(f"Caller identified as user {expected} ")
            assert elapsed < 1.0  # from what the session heard, not a new listen
            ended = await client.post(EVENTS, headers=SECRET, json=end_of_call(call_id))
            assert ended.status_code == 200


async def test_the_account_named_at_call_start_is_verified_while_the_caller_speaks(
    tmp_path: Path, calls: VapiListenServer
) -> None:
    container = _container(tmp_path)
    user, call_id = str(uuid.uuid4()), f"call-{uuid.uuid4()}"
    async with AsyncTestClient(create_app(container)) as client:
        await _enrol(client, user)
        impostor = ListenCall(caller=BOB.voice(seconds=6.0, seed=3), speed=8.0)
        url = calls.add(impostor)
        update = status_update(call_id, "in-progress", url, metadata={"userId": user})
        assert (await client.post(EVENTS, headers=SECRET, json=update)).status_code == 200
        await asyncio.wait_for(_sent(impostor, 5.0), 10)
        await asyncio.sleep(0.3)
        history = (await client.get(f"/api/v1/users/{user}/auth-history")).json()["attempts"]
        assert [a["decision"] for a in history] == ["reject"]  # decided before any tool call
        # The tool call without arguments: the call's account, answered from that decision.
        answer = await client.post(
            EVENTS, headers=SECRET, json=tool_calls(call_id, url, [("t1", "verify_voice", {})])
        )
        assert answer.json()["results"][0]["result"].startswith("Voice not verified")
        history = (await client.get(f"/api/v1/users/{user}/auth-history")).json()["attempts"]
        assert len(history) == 1
        assert (
            await client.post(EVENTS, headers=SECRET, json=end_of_call(call_id))
        ).status_code == 200


async def test_tool_calls_run_concurrently_inside_their_timeout(
    tmp_path: Path, calls: VapiListenServer
) -> None:
    container = _container(tmp_path)
    user, call_id = str(uuid.uuid4()), f"call-{uuid.uuid4()}"
    async with AsyncTestClient(create_app(container)) as client:
        await _enrol(client, user)
        silent = ListenCall(caller=ALICE.voice(seconds=1.0, seed=2), failure=Failure.HANG)
        url = calls.add(silent)
        assert (
            await client.post(
                EVENTS, headers=SECRET, json=status_update(call_id, "in-progress", url)
            )
        ).json() == {}
        message = tool_calls(
            call_id,
            url,
            [
                ("a", "verify_voice", {"userId": user}),
                ("b", "verify_voice", {"phone": "+14155550123"}),
                ("c", "no_such_tool", {}),
            ],
            timeout_s=3.0,
        )
        began = time.perf_counter()
        answer = await client.post(EVENTS, headers=SECRET, json=message)
        elapsed = time.perf_counter() - began
        assert elapsed < 3.0  # both checks share the budget, side by side
        results = {r["toolCallId"]: r for r in answer.json()["results"]}
        assert results["a"]["result"].startswith(("Not enough speech", "Voice check unavailable"))
        assert results["b"]["result"].startswith("Voice check unavailable")
        assert results["c"] == {
            "toolCallId": "c",
            "name": "no_such_tool",
            "error": "unknown tool 'no_such_tool'",
        }
        assert (
            await client.post(EVENTS, headers=SECRET, json=end_of_call(call_id))
        ).status_code == 200


async def test_enroll_voice_needs_a_confirmation_and_enough_speech(
    tmp_path: Path, calls: VapiListenServer
) -> None:
    container = _container(tmp_path)
    user, call_id = str(uuid.uuid4()), f"call-{uuid.uuid4()}"
    async with AsyncTestClient(create_app(container)) as client:
        call = ListenCall(caller=ALICE.voice(seconds=1.0, seed=4), speed=8.0, close_at_end=False)
        url = calls.add(call)
        assert (
            await client.post(
                EVENTS, headers=SECRET, json=status_update(call_id, "in-progress", url)
            )
        ).status_code == 200
        await asyncio.wait_for(_sent(call, 1.0), 10)
        await asyncio.sleep(0.3)

        def enrol(arguments: dict[str, Any]) -> dict[str, Any]:
            return tool_calls(call_id, url, [("e", "enroll_voice", arguments)])

        unconfirmed = await client.post(EVENTS, headers=SECRET, json=enrol({"userId": user}))
        assert unconfirmed.json()["results"][0]["result"].startswith("Voice enrolment refused")
        short = await client.post(
            EVENTS, headers=SECRET, json=enrol({"userId": user, "confirmedBy": "otp"})
        )
        assert short.json()["results"][0]["result"].startswith("Not enough speech to enrol")
        assert (await client.get(f"/api/v1/users/{user}")).status_code == 404

        longer = ListenCall(caller=ALICE.voice(seconds=8.0, seed=5), speed=8.0)
        other_id = f"call-{uuid.uuid4()}"
        other_url = calls.add(longer)
        await client.post(
            EVENTS, headers=SECRET, json=status_update(other_id, "in-progress", other_url)
        )
        await asyncio.wait_for(_sent(longer, 8.0), 10)
        await asyncio.sleep(0.3)
        done = await client.post(
            EVENTS,
            headers=SECRET,
            json=tool_calls(
                other_id, other_url, [("e", "enroll_voice", {"userId": user, "confirmedBy": "otp"})]
            ),
        )
        assert done.json()["results"][0]["result"].startswith("Voice enrolled")
        stored = (await client.get(f"/api/v1/users/{user}")).json()
        assert stored["phoneBandVoiceprint"] is True
        for ident in (call_id, other_id):
            await client.post(EVENTS, headers=SECRET, json=end_of_call(ident))


async def test_sessions_are_bounded_and_closed_when_idle(
    tmp_path: Path, calls: VapiListenServer
) -> None:
    container = _container(tmp_path, vapi_max_sessions=1, vapi_session_idle=1.0)
    async with AsyncTestClient(create_app(container)) as client:
        first = ListenCall(caller=ALICE.voice(seconds=0.5, seed=1), failure=Failure.HANG)
        second = ListenCall(caller=ALICE.voice(seconds=0.5, seed=1))
        url1, url2 = calls.add(first), calls.add(second)
        assert (
            await client.post(EVENTS, headers=SECRET, json=status_update("c1", "in-progress", url1))
        ).status_code == 200
        full = await client.post(
            EVENTS, headers=SECRET, json=status_update("c2", "in-progress", url2)
        )
        assert full.status_code == 503, full.text
        assert full.json()["error"] == "ServiceBusyError"
        metrics = container.metrics()
        assert metrics.call_sessions_refused._value.get() == 1
        # The first call stays silent: its session is closed after a second idle.
        await _released(first)
        await asyncio.sleep(0.1)
        assert len(container.call_sessions()) == 0
        again = await client.post(
            EVENTS, headers=SECRET, json=status_update("c2", "in-progress", url2)
        )
        assert again.status_code == 200
        await client.post(EVENTS, headers=SECRET, json=end_of_call("c2"))


@pytest.mark.parametrize(
    "message",
    [
        {"message": {"type": "transcript", "role": "user", "transcript": "hi"}},
        {"message": {"type": "hang"}},
        {"message": {"type": "speech-update", "status": "started"}},
        {"message": {"type": "status-update", "status": "ringing", "call": {"id": "x"}}},
        {"message": {"type": "status-update", "status": "in-progress", "call": {"id": "x"}}},
        {"message": {"type": "end-of-call-report", "call": {"id": "never-started"}}},
        {"message": {"type": "conversation-update", "messages": [1, 2]}},
        {"something": "else"},
    ],
)
async def test_other_server_messages_get_an_empty_200(
    tmp_path: Path, message: dict[str, Any]
) -> None:
    async with AsyncTestClient(create_app(_container(tmp_path))) as client:
        answer = await client.post(EVENTS, headers=SECRET, json=message)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {}


async def test_a_thousand_short_calls_leave_memory_and_sockets_flat(
    tmp_path: Path, calls: VapiListenServer
) -> None:
    container = _container(tmp_path, vapi_max_sessions=50)
    user = str(uuid.uuid4())
    voice = ALICE.voice(seconds=0.3, seed=3)

    async def one_call(index: int, client: AsyncTestClient[Any]) -> None:
        call_id = f"leak-{index}"
        call = ListenCall(caller=voice, transcript_every=0)
        url = calls.add(call)
        await client.post(EVENTS, headers=SECRET, json=status_update(call_id, "in-progress", url))
        while not call.completed:  # noqa: ASYNC110 - the server has no event for it
            await asyncio.sleep(0.001)
        if index % 10 == 0:
            answer = await client.post(
                EVENTS,
                headers=SECRET,
                json=tool_calls(call_id, url, [("t", "verify_voice", {"userId": user})]),
            )
            assert answer.status_code == 200
        await client.post(EVENTS, headers=SECRET, json=end_of_call(call_id))
        await _released(call)

    async with AsyncTestClient(create_app(container)) as client:
        await _enrol(client, user)
        sessions = container.call_sessions()
        for index in range(50):  # warm up: every pool and cache at its working size
            await one_call(index, client)
        gc.collect()
        fds, rss, kept = open_fds(), resident_bytes(), live_sessions()
        started = time.perf_counter()
        for index in range(50, 1050):
            await one_call(index, client)
        elapsed = time.perf_counter() - started
        gc.collect()
        assert len(sessions) == 0
        assert live_sessions() <= kept + 1  # the last call's may linger in a finished task
        assert open_fds() - fds <= 3
        grown = resident_bytes() - rss
        assert grown < 16 * 2**20, f"{grown / 2**20:.1f} MiB more after 1,000 calls"
        assert elapsed < 60


def live_sessions() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, CallSession))


def resident_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


async def _sent(call: ListenCall, seconds: float) -> None:
    """Returns once the listen server has sent ``seconds`` of the call."""
    while call.time_sent(seconds) is None:  # noqa: ASYNC110 - no event per frame
        await asyncio.sleep(0.02)
