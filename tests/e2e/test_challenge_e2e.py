"""End to end: the spoken liveness challenge through the running service, real Whisper, FSDD.

Issue a challenge, answer it with the speaker's own recordings of its digits (passes), answer
another with other digits (fails), and reuse one (refused).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.service import API_KEY, running_service
from voiceauth_adapters.evaluation.challenge import (
    AnswerPlan,
    DigitClips,
    build_answer,
    read_digit_clips,
)
from voiceauth_core import Audio
from voiceauth_core.testing import wav_bytes

pytestmark = pytest.mark.e2e

KEY = {"X-API-Key": API_KEY}
FIXTURES = Path(__file__).parents[1] / "fixtures" / "fsdd-eval"
PLAN = AnswerPlan(reaction_s=(0.8, 0.8), pause_s=(0.25, 0.25))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    with running_service({"VOICEAUTH_DATA_DIR": str(tmp_path / "data")}, tmp_path / "log") as url:
        yield url


def _george() -> DigitClips:
    (george,) = [s for s in read_digit_clips(FIXTURES, takes=range(2)) if s.speaker == "george"]
    return george


def _said(george: DigitClips, digits: str, seed: int) -> bytes:
    audio, _ = build_answer(george, digits, plan=PLAN, rng=random.Random(seed))
    return wav_bytes(audio)


async def _challenge(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    issued = await client.post(f"/api/v1/users/{user}/challenges", json={}, headers=KEY)
    assert issued.status_code == 201, issued.text
    return dict(issued.json())


async def _answer(
    client: httpx.AsyncClient, user: str, challenge_id: str, wav: bytes
) -> httpx.Response:
    return await client.post(
        f"/api/v1/users/{user}/verifications",
        files={"file": ("answer.wav", wav, "audio/wav")},
        data={"challengeId": challenge_id},
        headers=KEY,
    )


async def test_issue_answer_fail_and_reuse(service: str) -> None:
    george, user = _george(), str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=service, timeout=60) as client:
        enrolment = Audio.concatenate(
            [build_answer(george, "0123456789", plan=PLAN, rng=random.Random(1))[0]] * 2
        )
        enrolled = await client.post(
            f"/api/v1/users/{user}/enrollments",
            files={"file": ("george.wav", wav_bytes(enrolment), "audio/wav")},
            headers=KEY,
        )
        assert enrolled.status_code == 200, enrolled.text

        # The right digits pass; the service allows one retry with a new challenge, as a
        # genuine caller is allowed (tiny.en mishears about one answer in twenty by two digits).
        outcomes = []
        for attempt in range(2):
            challenge = await _challenge(client, user)
            answered = await _answer(
                client, user, challenge["challengeId"], _said(george, challenge["digits"], attempt)
            )
            assert answered.status_code == 200, answered.text
            outcomes.append(answered.json()["challenge"])
            if outcomes[-1]["passed"]:
                break
        assert outcomes[-1] == {"passed": True}, outcomes

        reused = await _answer(
            client, user, challenge["challengeId"], _said(george, challenge["digits"], 5)
        )
        assert reused.status_code == 409
        assert reused.json()["error"] == "ChallengeError"

        other = await _challenge(client, user)
        wrong = "".join(str((int(d) + 5) % 10) for d in other["digits"])
        failed = await _answer(client, user, other["challengeId"], _said(george, wrong, 3))
        assert failed.status_code == 200, failed.text
        body = failed.json()
        assert body["success"] is False
        assert body["challenge"]["passed"] is False
        assert body["challenge"]["reason"] == "wrong_digits"
