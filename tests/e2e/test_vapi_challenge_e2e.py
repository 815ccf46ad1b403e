"""End to end: the liveness challenge in a VAPI call, through the running service (real Whisper,
real model), the VAPI-like listen server playing the call at real speed, and VAPI's server
messages through the public API.

Each call: the caller talks, the assistant calls ``start_voice_check`` and reads its digits
(``speech-update`` started/stopped), the caller answers with FSDD recordings of a speaker saying
digits, the assistant calls ``verify_voice``. The right digits pass; other digits, the recording of
an answer to another challenge, and an answer begun too late are rejected. The calls run side by
side on one service.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.e2e.service import API_KEY, TOOL_SECRET, running_service
from voiceauth_adapters.evaluation.challenge import (
    AnswerPlan,
    DigitClips,
    build_answer,
    read_digit_clips,
)
from voiceauth_adapters.vapi.testing import ListenCall, VapiListenServer
from voiceauth_core import Audio
from voiceauth_core.challenge import spoken_phrase
from voiceauth_core.testing import wav_bytes

pytestmark = pytest.mark.e2e

HEADERS = {"X-Vapi-Secret": TOOL_SECRET, "X-API-Key": API_KEY}
EVENTS = "/api/v1/vapi/events"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "fsdd-eval"
PLAN = AnswerPlan(reaction_s=(0.8, 0.8), pause_s=(0.25, 0.25))
RATE = 16000
CALL_S = 20.0
#: The caller talks until here; the assistant then reads the digits until ``READ_UNTIL_S``.
TALK_S, READ_UNTIL_S = 2.0, 4.0
_NAMES = {name: str(digit) for digit, name in enumerate(spoken_phrase("0123456789").split(", "))}


@dataclass(slots=True, kw_only=True)
class AnsweredLater(ListenCall):
    """A call whose caller audio is written while it plays: the answer to a challenge is known
    only once the call is under way. The stream is a view of ``buffer``, so frames not yet sent
    carry what the test writes meanwhile."""

    buffer: bytearray = field(default_factory=bytearray)

    def pcm(self) -> bytes:
        return memoryview(self.buffer)  # type: ignore[return-value]  # bytes-like, sent as is

    def write(self, audio: Audio, at_s: float) -> None:
        """Put the caller's ``audio`` on their channel from ``at_s`` seconds into the call."""
        frames = np.frombuffer(self.buffer, dtype="<i2").reshape(-1, self.channels)
        start = round(at_s * RATE)
        pcm = np.clip(np.round(audio.samples * 32767.0), -32768, 32767).astype("<i2")
        frames[start : start + len(pcm), self.customer_channel] = pcm[: len(frames) - start]


def _call() -> AnsweredLater:
    call = AnsweredLater(caller=Audio(samples=np.zeros(1, np.float32), sample_rate=RATE), speed=1.0)
    call.buffer = bytearray(round(CALL_S * RATE) * call.channels * 2)
    return call


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("vapi-challenge")
    env = {"VOICEAUTH_DATA_DIR": str(folder), "RATE_LIMIT_PER_MINUTE": "0"}
    with running_service(env, folder / "service.log") as url:
        yield url


def _george() -> DigitClips:
    (george,) = [s for s in read_digit_clips(FIXTURES, takes=range(2)) if s.speaker == "george"]
    return george


def _said(george: DigitClips, digits: str, seed: int) -> Audio:
    return build_answer(george, digits, plan=PLAN, rng=random.Random(seed))[0]


def _message(kind: str, call_id: str, url: str, **fields: object) -> dict[str, object]:
    call = {"id": call_id, "monitor": {"listenUrl": url}}
    return {"message": {"type": kind, "call": call, **fields}}


def _tool(name: str, call_id: str, url: str, user: str) -> dict[str, object]:
    item = {"id": name, "function": {"name": name, "arguments": json.dumps({"userId": user})}}
    return _message("tool-calls", call_id, url, toolCallList=[item])


async def _until_sent(call: ListenCall, seconds: float) -> None:
    while call.time_sent(seconds) is None:  # noqa: ASYNC110 - no event per frame
        await asyncio.sleep(0.02)


@dataclass(slots=True)
class Answer:
    """How the caller answers: with the digits asked (None) or others, after ``delay_s``."""

    digits: str | None = None
    delay_s: float = 0.0
    seed: int = 1


async def _challenged_call(
    base: str, calls: VapiListenServer, george: DigitClips, user: str, answer: Answer
) -> tuple[str, str]:
    """(the digits asked, ``verify_voice``'s sentence) of one call."""
    call, call_id = _call(), f"e2e-{uuid.uuid4()}"
    url = calls.add(call)
    call.write(_said(george, "31", seed=9), at_s=0.2)  # the caller speaks first
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=HEADERS) as http:

        async def post(body: dict[str, object]) -> dict[str, Any]:
            response = await http.post(EVENTS, json=body)
            assert response.status_code == 200, response.text
            return dict(response.json())

        await post(_message("status-update", call_id, url, status="in-progress"))
        await _until_sent(call, TALK_S)
        [issued] = (await post(_tool("start_voice_check", call_id, url, user)))["results"]
        found = re.fullmatch(r"Please say the following digits: ([a-z, ]+)\.", issued["result"])
        assert found is not None, issued
        asked = "".join(_NAMES[word] for word in found[1].split(", "))
        await post(_message("speech-update", call_id, url, role="assistant", status="started"))
        said = _said(george, answer.digits or asked, answer.seed)
        call.write(said, at_s=READ_UNTIL_S + answer.delay_s)
        await _until_sent(call, READ_UNTIL_S)
        await post(_message("speech-update", call_id, url, role="assistant", status="stopped"))
        await post(_message("speech-update", call_id, url, role="user", status="started"))
        await _until_sent(call, READ_UNTIL_S + answer.delay_s + said.duration + 0.3)
        [verified] = (await post(_tool("verify_voice", call_id, url, user)))["results"]
        await post(_message("end-of-call-report", call_id, url))
    return asked, str(verified["result"])


async def test_right_wrong_replayed_and_late_answers(service: str) -> None:
    george, user = _george(), str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=service, timeout=60, headers=HEADERS) as http:
        enrolment = Audio.concatenate([_said(george, "0123456789", 1)] * 2)
        enrolled = await http.post(
            f"/api/v1/users/{user}/enrollments",
            files={"file": ("george.wav", wav_bytes(enrolment), "audio/wav")},
        )
        assert enrolled.status_code == 200, enrolled.text

    async with VapiListenServer() as calls:
        # The right digits, in time: one retry in a new call, as a genuine caller is allowed
        # (tiny.en mishears about one answer in twenty by more than two digits).
        for attempt in range(2):
            earlier, sentence = await _challenged_call(
                service, calls, george, user, Answer(seed=attempt)
            )
            if sentence.startswith("Voice verified"):
                break
        assert sentence.startswith("Voice verified"), sentence

        wrong, replayed, late = await asyncio.gather(
            _challenged_call(service, calls, george, user, Answer(digits="0" * 6, seed=3)),
            # The recording of the earlier right answer, played to a new challenge.
            _challenged_call(service, calls, george, user, Answer(digits=earlier, seed=1)),
            _challenged_call(service, calls, george, user, Answer(delay_s=4.5, seed=4)),
        )
    assert wrong[1].startswith("Liveness check failed: the caller did not say"), wrong
    assert replayed[0] != earlier
    assert replayed[1].startswith("Liveness check failed: the caller did not say"), replayed
    assert late[1].startswith("Liveness check failed: the answer began too late"), late

    async with httpx.AsyncClient(base_url=service, timeout=60, headers=HEADERS) as http:
        history = (await http.get(f"/api/v1/users/{user}/auth-history")).json()["attempts"]
        metrics = (await http.get("/metrics")).text
    results = sorted(a["challenge"] for a in history)
    assert results.count("passed") == 1
    assert results.count("late_answer") == 1
    assert results.count("wrong_digits") == len(history) - 2
    [passed] = [a for a in history if a["challenge"] == "passed"]
    assert passed["decision"] == "accept"
    # 0.8 s of reaction after the mark; Whisper's first word timestamp may read it as early as 0.
    assert 0.0 <= passed["challengeDelaySeconds"] < 2.0
    assert 'voiceauth_challenge_answers_total{outcome="late_answer"} 1.0' in metrics
