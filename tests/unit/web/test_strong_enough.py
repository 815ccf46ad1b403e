"""One rule says when an enrolment is strong enough: the enrolment's answer and the user's agree."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from tests.unit.web.app_harness import fake_app
from voiceauth_core.testing import ALICE, wav_bytes

pytestmark = pytest.mark.unit


async def test_the_enrolment_and_the_user_listing_agree_on_strength(tmp_path: Path) -> None:
    user = str(uuid.uuid4())
    async with AsyncTestClient(fake_app(tmp_path, strong_enroll_speech=6.0)) as client:
        strengths = []
        for seed in (1, 2):
            audio = wav_bytes(ALICE.voice(seconds=5.0, seed=seed))
            enrolled = await client.post(
                f"/api/v1/users/{user}/enrollments", files={"file": ("a.wav", audio, "audio/wav")}
            )
            assert enrolled.status_code == 200, enrolled.text
            read = (await client.get(f"/api/v1/users/{user}")).json()
            [listed] = (await client.get("/api/v1/users")).json()["users"]
            strengths.append(enrolled.json()["strongEnough"])
            assert read["strongEnough"] == listed["strongEnough"] == strengths[-1]
    assert strengths == [False, True]
