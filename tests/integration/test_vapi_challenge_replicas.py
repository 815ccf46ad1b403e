"""A liveness challenge holds when the call's messages reach different replicas.

Two app replicas (the core's fake model and recogniser, one shared store) share a real Redis
decision board. Replica A holds the call and issues the challenge; ``verify_voice`` reaches
replica B. B must not answer from a decision posted before the challenge, nor verify the voice
alone: it asks A, which checks the answer's digits.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from tests.unit.web.app_harness import fake_container
from tests.unit.web.test_vapi_challenge import (
    EVENTS,
    SECRET,
    PushedListener,
    _answer,
    _digits_of,
    _enrol,
    _message,
    _tool,
)
from voiceauth_core.testing import (
    ALICE,
    InMemoryAttemptLog,
    InMemoryChallengeStore,
    InMemoryStore,
    InMemoryUserRepository,
)
from voiceauth_web.app import create_app
from voiceauth_web.containers import Container

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/12"


def _replica(folder: Any, store: InMemoryStore, listener: PushedListener) -> Container:
    container = fake_container(folder, vapi_tool_secret=SECRET, redis_url=REDIS_URL)
    adapters = container.adapters
    adapters.raw_users.override(providers.Object(InMemoryUserRepository(store)))
    adapters.raw_attempts.override(providers.Object(InMemoryAttemptLog(store)))
    adapters.challenges.override(providers.Object(InMemoryChallengeStore(store)))
    adapters.listener.override(providers.Object(listener))
    return container


async def _post(client: AsyncTestClient[Any], body: dict[str, object]) -> Any:
    response = await client.post(EVENTS, json=body, headers={"X-Vapi-Secret": SECRET})
    assert response.status_code == 200, response.text
    return response.json()


async def _tool_result(client: AsyncTestClient[Any], call_id: str, name: str, user: str) -> str:
    [result] = (await _post(client, _tool(call_id, name, user)))["results"]
    return str(result["result"])


async def test_a_wrong_answer_is_rejected_on_the_replica_that_does_not_hold_the_call(
    tmp_path: Any,
) -> None:
    store, listener = InMemoryStore(), PushedListener()
    one = _replica(tmp_path / "a", store, listener)
    two = _replica(tmp_path / "b", store, listener)
    user = str(uuid.uuid4())
    async with (
        AsyncTestClient(create_app(one)) as holder,
        AsyncTestClient(create_app(two)) as other,
    ):
        await _enrol(holder, user)
        call_id = f"call-{uuid.uuid4()}"
        audio = listener.source(f"wss://listen.test/{call_id}")
        await _post(holder, _message("status-update", call_id, status="in-progress"))
        audio.push(ALICE.voice(seconds=4.0, seed=7))
        # The voice alone is accepted, from the other replica too (a decision now posted).
        assert (await _tool_result(other, call_id, "verify_voice", user)).startswith(
            "Voice verified"
        )
        digits = _digits_of(await _tool_result(holder, call_id, "start_voice_check", user))
        await _post(holder, _message("speech-update", call_id, role="assistant", status="stopped"))
        audio.push(_answer("".join(str((int(d) + 5) % 10) for d in digits)))
        # Asked on the other replica: the challenge's answer decides, not the earlier decision.
        sentence = await _tool_result(other, call_id, "verify_voice", user)
        assert sentence.startswith("Liveness check failed: the caller did not say the digits")
        assert (await _tool_result(holder, call_id, "verify_voice", user)) == sentence
        await _post(holder, _message("end-of-call-report", call_id))
