"""The liveness challenge in a VAPI call, on the core's fakes: ``start_voice_check``, the
assistant's ``speech-update``, ``verify_voice`` on the answer; the attempt log and the metric.

The caller's audio is pushed into the call as the test goes (the session hears it at once):
tone digits (``ToneDigitRecognizer`` hears them) then the enrolled synthetic voice.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from tests.unit.web.app_harness import fake_container
from voiceauth_core import Audio
from voiceauth_core.challenge import spoken_phrase
from voiceauth_core.testing import ALICE, BOB, tone_digits, wav_bytes
from voiceauth_web.app import create_app
from voiceauth_web.containers import Container
from voiceauth_web.vapi_challenge import prompt_reading_s

pytestmark = pytest.mark.unit

EVENTS = "/api/v1/vapi/events"
SECRET = "t00l-secret"
RATE = 16000
_NAMES = {name: str(digit) for digit, name in enumerate(spoken_phrase("0123456789").split(", "))}


class PushedCall:
    """A call's live audio that the test pushes in, half a second a chunk."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Audio | None] = asyncio.Queue()
        self.pushed_s = 0.0

    @property
    def channel(self) -> str:
        return "vapi"

    @property
    def live(self) -> bool:
        return True

    def push(self, audio: Audio) -> None:
        step = RATE // 2
        for start in range(0, len(audio.samples), step):
            self._queue.put_nowait(
                Audio(samples=audio.samples[start : start + step], sample_rate=RATE)
            )
        self.pushed_s += audio.duration

    def silence(self, seconds: float) -> None:
        self.push(Audio(samples=np.zeros(round(seconds * RATE), np.float32), sample_rate=RATE))

    async def fetch(self) -> Audio:
        raise AssertionError("a call session streams")

    async def stream(self) -> AsyncGenerator[Audio, None]:
        while (chunk := await self._queue.get()) is not None:
            yield chunk


class PushedListener:
    """The VAPI listener: each listen URL is a :class:`PushedCall`."""

    def __init__(self) -> None:
        self.calls: dict[str, PushedCall] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def source(self, listen_url: str, **kwargs: object) -> PushedCall:
        del kwargs
        return self.calls.setdefault(listen_url, PushedCall())


def _answer(digits: str, *, speaker: Any = ALICE, seed: int = 3) -> Audio:
    """The caller saying ``digits`` (as tones), then a few seconds of their voice."""
    return Audio.concatenate(
        [tone_digits(digits, amplitude=0.05), speaker.voice(seconds=5.0, seed=seed)]
    )


def _message(kind: str, call_id: str, **fields: object) -> dict[str, object]:
    call = {"id": call_id, "monitor": {"listenUrl": f"wss://listen.test/{call_id}"}}
    return {"message": {"type": kind, "call": call, **fields}}


def _tool(call_id: str, name: str, user: str) -> dict[str, object]:
    item = {
        "id": f"{name}-1",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps({"userId": user})},
    }
    return _message("tool-calls", call_id, toolCallList=[item])


class Call:
    """One VAPI call through the app: its audio, its server messages."""

    def __init__(
        self, client: AsyncTestClient[Any], container: Container, listener: PushedListener
    ) -> None:
        self.client, self.container = client, container
        self.id = f"call-{uuid.uuid4()}"
        self.audio = listener.source(f"wss://listen.test/{self.id}")

    async def post(self, body: dict[str, object]) -> Any:
        response = await self.client.post(EVENTS, json=body, headers={"X-Vapi-Secret": SECRET})
        assert response.status_code == 200, response.text
        return response.json()

    async def start(self) -> None:
        assert await self.post(_message("status-update", self.id, status="in-progress")) == {}

    async def heard(self) -> None:
        """Wait until the call's session has heard everything pushed so far."""
        session = self.container.call_sessions().session_of(self.id)
        assert session is not None
        while session.heard_s < self.audio.pushed_s - 1e-6:  # noqa: ASYNC110 - no event per chunk
            await asyncio.sleep(0.01)

    async def tool(self, name: str, user: str) -> str:
        await self.heard()
        [result] = (await self.post(_tool(self.id, name, user)))["results"]
        assert result["name"] == name
        return str(result["result"])

    async def speech(self, role: str, status: str) -> None:
        await self.heard()
        update = _message("speech-update", self.id, role=role, status=status, turn=1)
        assert await self.post(update) == {}


def _digits_of(sentence: str) -> str:
    found = re.fullmatch(r"Please say the following digits: ([a-z, ]+)\.", sentence)
    assert found is not None, sentence
    return "".join(_NAMES[word] for word in found[1].split(", "))


async def _app(tmp_path: Path) -> tuple[Container, PushedListener]:
    container = fake_container(tmp_path, vapi_tool_secret=SECRET)
    listener = PushedListener()
    container.adapters.listener.override(providers.Object(listener))
    return container, listener


async def _enrol(client: AsyncTestClient[Any], user: str) -> None:
    enrolled = await client.post(
        f"/api/v1/users/{user}/enrollments",
        files={"file": ("a.wav", wav_bytes(ALICE.voice(seconds=5.0, seed=1)), "audio/wav")},
    )
    assert enrolled.status_code == 200, enrolled.text


async def _challenged(call: Call, user: str) -> str:
    """Talk a little, ask for the check, read it out (caller silent), report its end."""
    await call.start()
    call.audio.push(ALICE.voice(seconds=2.0, seed=7))
    digits = _digits_of(await call.tool("start_voice_check", user))
    assert len(digits) == 6
    await call.speech("assistant", "started")
    call.audio.silence(3.0)  # the assistant reads the digits on its own channel
    await call.speech("assistant", "stopped")
    return digits


async def test_the_right_digits_in_time_pass_and_are_logged(tmp_path: Path) -> None:
    container, listener = await _app(tmp_path)
    user = str(uuid.uuid4())
    async with AsyncTestClient(create_app(container)) as client:
        await _enrol(client, user)
        call = Call(client, container, listener)
        digits = await _challenged(call, user)
        await call.speech("user", "started")
        call.audio.silence(0.5)
        call.audio.push(_answer(digits))
        assert (await call.tool("verify_voice", user)).startswith("Voice verified")
        # The decision stands for the account in this call (the challenge is used up).
        assert (await call.tool("verify_voice", user)).startswith("Voice verified")

        history = (await client.get(f"/api/v1/users/{user}/auth-history")).json()["attempts"]
        [attempt] = history
        assert attempt["decision"] == "accept"
        assert attempt["challenge"] == "passed"
        # 0.5 s of silence, then tone_digits' own 0.5 s lead, heard from the mark.
        assert attempt["challengeDelaySeconds"] == pytest.approx(1.0, abs=0.1)
        metrics = (await client.get("/metrics")).text
        assert 'voiceauth_challenge_answers_total{outcome="passed"} 1.0' in metrics


async def test_wrong_late_and_replayed_answers_are_rejected(tmp_path: Path) -> None:
    container, listener = await _app(tmp_path)
    user = str(uuid.uuid4())
    async with AsyncTestClient(create_app(container)) as client:
        await _enrol(client, user)

        wrong = Call(client, container, listener)
        digits = await _challenged(wrong, user)
        wrong.audio.push(_answer("".join(str((int(d) + 5) % 10) for d in digits)))
        sentence = await wrong.tool("verify_voice", user)
        assert sentence.startswith("Liveness check failed: the caller did not say the digits")

        late = Call(client, container, listener)
        digits = await _challenged(late, user)
        late.audio.silence(4.5)
        late.audio.push(_answer(digits))
        sentence = await late.tool("verify_voice", user)
        assert sentence.startswith("Liveness check failed: the answer began too late")

        # A recording of an earlier right answer, played to a new challenge in the same call.
        replay = Call(client, container, listener)
        first = await _challenged(replay, user)
        replay.audio.push(_answer(first))
        assert (await replay.tool("verify_voice", user)).startswith("Voice verified")
        second = _digits_of(await replay.tool("start_voice_check", user))
        await replay.speech("assistant", "stopped")
        replay.audio.push(_answer(first, seed=3))
        sentence = await replay.tool("verify_voice", user)
        assert second != first
        assert sentence.startswith("Liveness check failed: the caller did not say the digits")

        history = (await client.get(f"/api/v1/users/{user}/auth-history")).json()["attempts"]
        assert [(a["decision"], a["challenge"]) for a in history] == [
            ("reject", "wrong_digits"),
            ("accept", "passed"),
            ("reject", "late_answer"),
            ("reject", "wrong_digits"),
        ]
        metrics = (await client.get("/metrics")).text
        assert 'voiceauth_challenge_answers_total{outcome="wrong_digits"} 2.0' in metrics
        assert 'voiceauth_challenge_answers_total{outcome="late_answer"} 1.0' in metrics


async def test_another_voice_saying_the_right_digits_is_rejected(tmp_path: Path) -> None:
    container, listener = await _app(tmp_path)
    user = str(uuid.uuid4())
    async with AsyncTestClient(create_app(container)) as client:
        await _enrol(client, user)
        call = Call(client, container, listener)
        digits = await _challenged(call, user)
        call.audio.push(_answer(digits, speaker=BOB))
        assert (await call.tool("verify_voice", user)).startswith("Voice not verified")
        [attempt] = (await client.get(f"/api/v1/users/{user}/auth-history")).json()["attempts"]
        assert (attempt["decision"], attempt["challenge"]) == ("reject", "passed")


async def test_without_speech_updates_the_answer_is_heard_from_the_tool_call(
    tmp_path: Path,
) -> None:
    container, listener = await _app(tmp_path)
    user = str(uuid.uuid4())
    async with AsyncTestClient(create_app(container)) as client:
        await _enrol(client, user)
        # In time once the prompt's reading is allowed for: passes.
        call = Call(client, container, listener)
        await call.start()
        digits = _digits_of(await call.tool("start_voice_check", user))
        call.audio.silence(4.0)  # the assistant reads the digits
        call.audio.push(_answer(digits))
        assert (await call.tool("verify_voice", user)).startswith("Voice verified")
        # Later than the bound and the reading together: late.
        slow = Call(client, container, listener)
        await slow.start()
        digits = _digits_of(await slow.tool("start_voice_check", user))
        slow.audio.silence(4.0 + prompt_reading_s(6))
        slow.audio.push(_answer(digits))
        assert (await slow.tool("verify_voice", user)).startswith(
            "Liveness check failed: the answer began too late"
        )


async def test_silence_after_the_question_is_no_answer(tmp_path: Path) -> None:
    container, listener = await _app(tmp_path)
    user = str(uuid.uuid4())
    async with AsyncTestClient(create_app(container)) as client:
        await _enrol(client, user)
        call = Call(client, container, listener)
        await _challenged(call, user)
        call.audio.silence(3.0)
        sentence = await call.tool("verify_voice", user)
        assert sentence.startswith("Liveness check failed: no digits were heard")
        metrics = (await client.get("/metrics")).text
        assert 'voiceauth_challenge_answers_total{outcome="no_digits"} 1.0' in metrics


async def test_a_challenge_needs_an_enrolled_account_and_a_call(tmp_path: Path) -> None:
    container, listener = await _app(tmp_path)
    async with AsyncTestClient(create_app(container)) as client:
        call = Call(client, container, listener)
        await call.start()
        sentence = await call.tool("start_voice_check", str(uuid.uuid4()))
        assert sentence.startswith("Voice check unavailable:")
        assert "not enrolled" in sentence
        no_account = await call.post(
            _message(
                "tool-calls",
                call.id,
                toolCallList=[{"id": "t", "function": {"name": "start_voice_check"}}],
            )
        )
        assert no_account["results"][0]["result"] == (
            "Voice check unavailable: give the account's userId or phone number."
        )
