"""Failures deep inside the service become the documented statuses: 409, 422/502, 500, 503."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient
from loguru import logger

from tests.unit.web.app_harness import fake_container
from voiceauth_adapters.sealing import parse_keyring
from voiceauth_adapters.sealing.cipher import TemplateCipher
from voiceauth_adapters.vapi.testing import tool_call_message
from voiceauth_core import Audio, UserId
from voiceauth_core.errors import (
    CaptureError,
    ServiceBusyError,
    StorageUnavailableError,
    TemplateProtectionError,
    VoiceAuthError,
)
from voiceauth_core.testing import (
    ALICE,
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryStore,
    InMemoryUserRepository,
    SpectralEmbeddingModel,
    synthetic_voice,
    wav_bytes,
)
from voiceauth_web.app import create_app
from voiceauth_web.correlation import HEADER

pytestmark = pytest.mark.unit

ERROR_KEYS = {"error", "message", "correlation_id", "timestamp"}
SECRET = "asyncpg: password authentication failed for user voiceauth at 10.0.0.7"


def upload(seed: int = 1) -> dict[str, tuple[str, bytes, str]]:
    audio = ALICE.voice(seconds=5.0, seed=seed)
    return {"file": ("a.wav", wav_bytes(audio), "audio/wav")}


class BrokenUsers:
    """A user repository whose every call fails as the given error (or a foreign one)."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def __getattr__(self, name: str) -> Any:
        async def fail(*args: object, **kwargs: object) -> None:
            del args, kwargs
            raise self._error

        return fail


class FailingModel(SpectralEmbeddingModel):
    """The fake model, failing every embedding with ``error``."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self._error = error

    async def embed(self, audio: Audio) -> Any:
        del audio
        raise self._error


class FailingListener:
    """A VAPI listener whose sources fail the capture with ``error``."""

    def __init__(self, error: VoiceAuthError) -> None:
        self._error = error

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def source(self, listen_url: str, **kwargs: object) -> InMemoryAudioSource:
        del listen_url, kwargs
        silent = synthetic_voice(seconds=1.0, seed=1)
        return InMemoryAudioSource(silent, channel="vapi", live=True, error=self._error)


def assert_error(response: Any, status: int, name: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["error"] == name
    assert body["correlation_id"] == response.headers[HEADER]
    assert SECRET not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("error", "status", "name"),
    [
        (StorageUnavailableError("the database is unavailable"), 503, "StorageUnavailableError"),
        (RuntimeError(SECRET), 500, "InternalServerError"),
    ],
)
async def test_a_failing_database_is_503_and_a_foreign_error_500_without_details(
    tmp_path: Path, error: Exception, status: int, name: str
) -> None:
    container = fake_container(tmp_path)
    container.adapters.raw_users.override(providers.Object(BrokenUsers(error)))
    async with AsyncTestClient(create_app(container)) as client:
        listed = await client.get("/api/v1/users")
        assert_error(listed, status, name)
        if status == 503:
            assert listed.headers["Retry-After"] == "60"
        # Liveness never touches the database.
        assert (await client.get("/healthz")).status_code == 200


async def test_a_saturated_model_is_503(tmp_path: Path) -> None:
    container = fake_container(tmp_path)
    busy = FailingModel(ServiceBusyError("every inference worker is busy"))
    container.adapters.raw_model.override(providers.Object(busy))
    async with AsyncTestClient(create_app(container)) as client:
        response = await client.post(f"/api/v1/users/{uuid.uuid4()}/enrollments", files=upload())
    assert_error(response, 503, "ServiceBusyError")
    assert response.headers["Retry-After"] == "60"


async def test_adding_a_sample_from_another_model_is_a_409(tmp_path: Path) -> None:
    store = InMemoryStore()
    user = str(uuid.uuid4())

    def app(model_id: str) -> Any:
        container = fake_container(tmp_path)
        adapters = container.adapters
        adapters.raw_users.override(providers.Object(InMemoryUserRepository(store)))
        adapters.raw_attempts.override(providers.Object(InMemoryAttemptLog(store)))
        adapters.raw_model.override(providers.Object(SpectralEmbeddingModel(model_id=model_id)))
        return create_app(container)

    async with AsyncTestClient(app("fake/spectral-v1")) as client:
        first = await client.post(f"/api/v1/users/{user}/enrollments", files=upload())
        assert first.status_code == 200, first.text
    async with AsyncTestClient(app("fake/spectral-v2")) as client:
        second = await client.post(f"/api/v1/users/{user}/enrollments", files=upload(seed=2))
        assert_error(second, 409, "ModelMismatchError")
        replaced = await client.post(
            f"/api/v1/users/{user}/enrollments", files=upload(seed=2), data={"replace": "true"}
        )
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["sampleCount"] == 1


@pytest.mark.parametrize(
    ("reason", "status"),
    [("no_speech", 422), ("timeout", 502), ("connect_failed", 502)],
)
async def test_a_failed_capture_is_422_when_silent_else_502(
    tmp_path: Path, reason: str, status: int
) -> None:
    container = fake_container(tmp_path)
    user = str(uuid.uuid4())
    failure = CaptureError("the call could not be heard", reason=reason)
    container.adapters.listener.override(providers.Object(FailingListener(failure)))
    async with AsyncTestClient(create_app(container)) as client:
        enrolled = await client.post(f"/api/v1/users/{user}/enrollments", files=upload())
        assert enrolled.status_code == 200, enrolled.text
        response = await client.post(
            "/api/v1/verify-password",
            json={"userId": user, "listenUrl": "wss://example.vapi.ai/listen"},
        )
        assert_error(response, status, "CaptureError")
        # The failed capture is logged as an attempt, not lost.
        history = (await client.get(f"/api/v1/users/{user}/auth-history")).json()
        assert len(history["attempts"]) == 1
        assert history["attempts"][0]["success"] is False


SEALING_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
CONFIGURED_KEY = base64.urlsafe_b64encode(bytes(range(32, 64))).decode()


def unreadable_voiceprint() -> tuple[TemplateProtectionError, str]:
    """The error a store raises on a row sealed under a key the service does not hold, and
    that key's id (which the operator's log names)."""
    user = UserId.new()
    sealer = TemplateCipher(parse_keyring(SEALING_KEY))
    sealed = sealer.seal(user, "embedding_sum", np.ones(192))
    try:
        TemplateCipher(parse_keyring(CONFIGURED_KEY)).open(user, "embedding_sum", sealed)
    except TemplateProtectionError as exc:
        return exc, sealer.key_id.hex()
    raise AssertionError("a value sealed under another key opened")


@pytest.fixture
def records() -> Iterator[list[dict[str, Any]]]:
    """Every log record the app writes while the test runs."""
    caught: list[dict[str, Any]] = []

    def sink(message: Any) -> None:
        caught.append(message.record)

    handler = logger.add(sink, level="DEBUG")
    yield caught
    logger.remove(handler)


def assert_no_key_material(text: str) -> None:
    for key in (SEALING_KEY, CONFIGURED_KEY):
        assert key.rstrip("=") not in text
        assert base64.urlsafe_b64decode(key).hex() not in text


async def test_an_unreadable_voiceprint_is_a_500_naming_no_key_and_an_error_log_line(
    tmp_path: Path, records: list[dict[str, Any]]
) -> None:
    error, key_id = unreadable_voiceprint()
    container = fake_container(tmp_path, vapi_tool_secret="s3cret")
    container.adapters.raw_users.override(providers.Object(BrokenUsers(error)))
    call = tool_call_message(
        {"userId": str(uuid.uuid4())}, listen_url="wss://example.vapi.ai/listen"
    )
    async with AsyncTestClient(create_app(container)) as client:
        response = await client.get(f"/api/v1/users/{uuid.uuid4()}")
        tool = await client.post(
            "/api/v1/vapi/tool-calls", json=call, headers={"X-Vapi-Secret": "s3cret"}
        )

    assert_error(response, 500, "TemplateProtectionError")
    assert "Retry-After" not in response.headers  # a retry meets the same row
    # The caller learns that the voiceprint is unreadable, nothing about keys.
    message = response.json()["message"]
    assert message == "a stored voiceprint cannot be read; retrying will not help"
    assert tool.status_code == 200, tool.text
    answer = tool.json()["results"][0]["result"]
    assert answer == f"Voice check unavailable: {message}."
    for text in (response.text, tool.text):
        assert "key" not in text.lower()
        assert key_id not in text

    # The operator gets one ERROR line per failure, naming the error and the key id.
    failures = [r for r in records if r["extra"].get("error") == "TemplateProtectionError"]
    assert [r["level"].name for r in failures] == ["ERROR", "ERROR"]
    assert failures[0]["extra"]["status"] == 500
    assert "status" not in failures[1]["extra"]  # the tool call itself answered 200
    assert all(key_id in r["message"] for r in failures)
    logged = "\n".join(f"{r['message']} {r['extra']}" for r in records)
    assert_no_key_material(logged)
    assert "1.0, 1.0" not in logged  # nor the voiceprint
