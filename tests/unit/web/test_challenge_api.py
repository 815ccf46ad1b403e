"""The liveness challenge over HTTP, on the core's fakes: issue, answer, reuse, errors."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from tests.unit.web.app_harness import fake_app
from voiceauth_core import Audio
from voiceauth_core.testing import ALICE, tone_digits, wav_bytes

pytestmark = pytest.mark.unit


def _answer(digits: str) -> bytes:
    audio = Audio.concatenate(
        [tone_digits(digits, amplitude=0.05), ALICE.voice(seconds=5.0, seed=3)]
    )
    return wav_bytes(audio)


def _form(data: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("answer.wav", data, "audio/wav")}


async def test_issue_answer_and_reuse(tmp_path: Path) -> None:
    user = str(uuid.uuid4())
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        enrolled = await client.post(
            f"/api/v1/users/{user}/enrollments",
            files=_form(wav_bytes(ALICE.voice(seconds=5.0, seed=1))),
        )
        assert enrolled.status_code == 200, enrolled.text

        issued = await client.post(f"/api/v1/users/{user}/challenges")
        assert issued.status_code == 201, issued.text
        challenge = issued.json()
        assert set(challenge) == {"challengeId", "digits", "phrase", "expiresAt"}
        digits = challenge["digits"]
        assert len(digits) == 6
        assert digits.isdigit()
        assert len(challenge["phrase"].split(", ")) == 6

        passed = await client.post(
            f"/api/v1/users/{user}/verifications",
            files=_form(_answer(digits)),
            data={"challengeId": challenge["challengeId"]},
        )
        assert passed.status_code == 200, passed.text
        assert passed.json()["decision"] == "accept"
        assert passed.json()["challenge"] == {"passed": True}

        reused = await client.post(
            f"/api/v1/users/{user}/verifications",
            files=_form(_answer(digits)),
            data={"challengeId": challenge["challengeId"]},
        )
        assert reused.status_code == 409
        assert reused.json()["error"] == "ChallengeError"

        second = (await client.post(f"/api/v1/users/{user}/challenges", json={})).json()
        wrong = "".join(str((int(d) + 5) % 10) for d in second["digits"])
        failed = await client.post(
            f"/api/v1/users/{user}/verifications",
            files=_form(_answer(wrong)),
            data={"challengeId": second["challengeId"]},
        )
        body = failed.json()
        assert body["decision"] == "reject"
        assert body["success"] is False
        assert body["challenge"] == {"passed": False, "heard": wrong, "reason": "wrong_digits"}
        assert "did not say the digits" in body["message"]

        plain = await client.post(
            f"/api/v1/users/{user}/verifications",
            files=_form(wav_bytes(ALICE.voice(seconds=5.0, seed=3))),
        )
        assert plain.json()["decision"] == "accept"
        assert "challenge" not in plain.json()


async def test_challenge_errors(tmp_path: Path) -> None:
    user, other = str(uuid.uuid4()), str(uuid.uuid4())
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        unknown_user = await client.post(f"/api/v1/users/{user}/challenges")
        assert unknown_user.status_code == 404
        for who in (user, other):
            await client.post(
                f"/api/v1/users/{who}/enrollments",
                files=_form(wav_bytes(ALICE.voice(seconds=5.0, seed=1))),
            )
        bound = (
            await client.post(f"/api/v1/users/{user}/challenges", json={"callId": "call-7"})
        ).json()
        for owner, reason in ((other, "another user's"), (user, "another call's")):
            refused = await client.post(
                f"/api/v1/users/{owner}/verifications",
                files=_form(_answer(bound["digits"])),
                data={"challengeId": bound["challengeId"]},
            )
            assert refused.status_code == 409, reason
        malformed = await client.post(
            f"/api/v1/users/{user}/verifications",
            files=_form(_answer("123456")),
            data={"challengeId": "not-a-uuid"},
        )
        assert malformed.status_code == 400
        too_long = await client.post(f"/api/v1/users/{user}/challenges", json={"callId": "x" * 201})
        assert too_long.status_code == 400
