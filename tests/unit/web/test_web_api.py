"""The HTTP API over the core's fakes: contract shapes, every error status, auth, limits, logs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from loguru import logger

from tests.unit.web.app_harness import fake_app
from voiceauth_core.testing import ALICE, BOB, SyntheticSpeaker, synthetic_voice, wav_bytes
from voiceauth_web.correlation import HEADER

pytestmark = pytest.mark.unit


def voice(who: SyntheticSpeaker, seconds: float = 5.0, seed: int = 1) -> bytes:
    return wav_bytes(who.voice(seconds=seconds, seed=seed))


def upload(data: bytes, name: str = "a.wav", kind: str = "audio/wav") -> dict[str, object]:
    return {"file": (name, data, kind)}


ERROR_KEYS = {"error", "message", "correlation_id", "timestamp"}


async def test_enrol_verify_history_list_and_erase(tmp_path: Path) -> None:
    user = str(uuid.uuid4())
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        enrolled = await client.post(
            f"/api/v1/users/{user}/enrollments",
            files=upload(voice(ALICE)),
            data={"phone": "+14155550123"},
        )
        assert enrolled.status_code == 200, enrolled.text
        body = enrolled.json()
        assert body["status"] == "enrolled"
        assert body["score"] == 1.0
        assert body["sampleCount"] == 1
        assert body["speechSeconds"] > 2.0
        again = await client.post(
            f"/api/v1/users/{user}/enrollments", files=upload(voice(ALICE, seed=2))
        )
        assert again.json()["sampleCount"] == 2

        same = await client.post(
            f"/api/v1/users/{user}/verifications", files=upload(voice(ALICE, seed=3))
        )
        assert same.status_code == 200
        accepted = same.json()
        assert accepted["success"] is True
        assert accepted["records"] is None
        assert accepted["decision"] == "accept"
        assert set(accepted) >= {
            "success",
            "message",
            "records",
            "score",
            "rawScore",
            "speechSeconds",
            "audioSeconds",
        }
        assert accepted["audioSeconds"] >= accepted["speechSeconds"] > 0.0

        other = await client.post(f"/api/v1/users/{user}/verifications", files=upload(voice(BOB)))
        assert other.json()["success"] is False
        assert other.json()["decision"] == "reject"

        history = (await client.get(f"/api/v1/users/{user}/auth-history?limit=1")).json()
        assert history["user_id"] == user
        assert [a["success"] for a in history["attempts"]] == [False]
        assert set(history["attempts"][0]) >= {"id", "success", "score", "created_at"}
        assert history["next_cursor"]
        rest = await client.get(
            f"/api/v1/users/{user}/auth-history?cursor={history['next_cursor']}"
        )
        assert [a["success"] for a in rest.json()["attempts"]] == [True]

        listed = (await client.get("/api/v1/users")).json()
        assert listed["users"][0]["phone"] == "+*********23"
        assert "embedding" not in json.dumps(listed).lower()
        everything = (await client.get("/api/v1/attempts")).json()
        assert len(everything["attempts"]) == 2

        assert (await client.delete(f"/api/v1/users/{user}")).status_code == 204
        gone = await client.get(f"/api/v1/users/{user}")
        assert gone.status_code == 404
        assert gone.json()["error"] == "UserNotFoundError"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "name"),
    [
        (
            "post",
            "/api/v1/enroll-user",
            {"json": {"userId": "x", "audioUrl": "http://a"}},
            400,
            "ValidationError",
        ),
        ("post", "/api/v1/enroll-user", {"json": {"audioUrl": "http://a"}}, 400, "ValidationError"),
        (
            "post",
            "/api/v1/enroll-user",
            {"json": {"userId": str(uuid.uuid4()), "audioUrl": "http://a", "extra": 1}},
            400,
            "ValidationError",
        ),
        (
            "post",
            "/api/v1/enroll-user",
            {"json": {"userId": str(uuid.uuid4()), "audioUrl": "ftp://host/a.wav"}},
            400,
            "AudioDownloadError",
        ),
        (
            "post",
            "/api/v1/enroll-user",
            {"content": b"userId=1", "headers": {"content-type": "text/plain"}},
            415,
            "UnsupportedMediaType",
        ),
        (
            "post",
            "/api/v1/enroll-user",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
            "ValidationError",
        ),
        (
            "post",
            "/api/v1/verify-password",
            {"json": {"userId": str(uuid.uuid4()), "listenUrl": "wss://x.vapi.ai/l"}},
            404,
            "UserNotFoundError",
        ),
        (
            "post",
            "/api/v1/verify-password",
            {"json": {"phone": "12", "listenUrl": "wss://x.vapi.ai/l"}},
            400,
            "ValidationError",
        ),
        ("get", "/api/v1/users/not-a-uuid", {}, 400, "ValidationError"),
        ("get", f"/api/v1/users/{uuid.uuid4()}/auth-history", {}, 404, "UserNotFoundError"),
        ("get", "/api/v1/users?limit=0", {}, 400, "ValidationError"),
        ("get", "/api/v1/users?cursor=bogus!", {}, 400, "ValidationError"),
        ("get", "/api/v1/attempts?since=yesterday", {}, 400, "ValidationError"),
        ("delete", f"/api/v1/users/{uuid.uuid4()}", {}, 404, "UserNotFoundError"),
        (
            "post",
            f"/api/v1/users/{uuid.uuid4()}/enrollments",
            {"files": {"file": ("a.html", b"<html>", "text/html")}},
            415,
            "UnsupportedMediaType",
        ),
        (
            "post",
            f"/api/v1/users/{uuid.uuid4()}/enrollments",
            {"files": {"file": ("a.wav", b"RIFF....", "audio/wav")}},
            422,
            "AudioProcessingError",
        ),
        (
            "post",
            f"/api/v1/users/{uuid.uuid4()}/enrollments",
            {"files": {"file": ("a.wav", wav_bytes(synthetic_voice(seconds=0.8)), "audio/wav")}},
            422,
            "AudioProcessingError",
        ),
        (
            "post",
            f"/api/v1/users/{uuid.uuid4()}/enrollments",
            {"json": {"file": "x"}},
            415,
            "UnsupportedMediaType",
        ),
        ("get", "/api/v1/nothing-here", {}, 404, "NotFound"),
    ],
)
async def test_errors_have_the_original_shape_and_status(
    tmp_path: Path, method: str, path: str, kwargs: dict[str, object], status: int, name: str
) -> None:
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        response = await getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["error"] == name
    assert body["correlation_id"] == response.headers[HEADER]
    assert "Traceback" not in response.text


async def test_a_phone_number_of_another_user_is_a_conflict(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        for expected in (200, 409):
            response = await client.post(
                f"/api/v1/users/{uuid.uuid4()}/enrollments",
                files=upload(voice(ALICE)),
                data={"phone": "+14155550100"},
            )
            assert response.status_code == expected
        assert response.json()["error"] == "PhoneNumberInUseError"


async def test_a_body_over_the_limit_is_413(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path, max_upload_bytes=50_000)) as client:
        response = await client.post(
            f"/api/v1/users/{uuid.uuid4()}/enrollments", files=upload(b"\0" * 200_000)
        )
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"


async def test_api_keys_guard_the_api_but_not_health(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path, api_keys=("k1", "k2"))) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/api/v1/health")).status_code == 200
        refused = await client.get("/api/v1/users")
        assert refused.status_code == 401
        assert refused.json()["error"] == "AuthenticationError"
        assert (await client.get("/api/v1/users", headers={"X-API-Key": "nope"})).status_code == 401
        assert (await client.get("/api/v1/users", headers={"X-API-Key": "k2"})).status_code == 200
        bearer = {"Authorization": "Bearer k1"}
        assert (await client.get("/api/v1/users", headers=bearer)).status_code == 200


async def test_the_vapi_route_needs_its_own_secret(tmp_path: Path) -> None:
    call = {"message": {"type": "tool-calls", "toolCallList": [], "call": {}}}
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        off = await client.post("/api/v1/vapi/tool-calls", json=call)
        assert off.status_code == 403
    async with AsyncTestClient(fake_app(tmp_path, vapi_tool_secret="s3cret")) as client:
        assert (await client.post("/api/v1/vapi/tool-calls", json=call)).status_code == 401
        wrong = {"X-Vapi-Secret": "nope"}
        assert (
            await client.post("/api/v1/vapi/tool-calls", json=call, headers=wrong)
        ).status_code == 401
        right = {"X-Vapi-Secret": "s3cret"}
        answer = await client.post("/api/v1/vapi/tool-calls", json=call, headers=right)
        assert answer.status_code == 200
        assert answer.json() == {"results": []}


async def test_the_rate_limit_counts_clients_and_ignores_spoofed_forwarding(
    tmp_path: Path,
) -> None:
    # The test client's peer is not a trusted proxy: its X-Forwarded-For must not split it
    # into many clients.
    app = fake_app(tmp_path, rate_limit_per_minute=3, trusted_proxies=("10.0.0.0/8",))
    async with AsyncTestClient(app) as client:
        codes = [
            (
                await client.get("/api/v1/users", headers={"X-Forwarded-For": f"203.0.113.{i}"})
            ).status_code
            for i in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        limited = await client.get("/api/v1/users")
        assert limited.json()["error"] == "RateLimitExceeded"
        assert limited.headers["retry-after"] == "60"
        assert (await client.get("/healthz")).status_code == 200


def test_forwarded_addresses_are_believed_only_from_trusted_proxies() -> None:
    from voiceauth_web.security import ClientAddress

    clients = ClientAddress(["10.0.0.0/8"])
    assert clients.of("10.1.2.3", "198.51.100.7, 10.9.9.9") == "198.51.100.7"
    assert clients.of("198.51.100.8", "1.2.3.4") == "198.51.100.8"
    assert clients.of("10.1.2.3", None) == "10.1.2.3"


async def test_correlation_id_is_echoed_and_security_headers_set(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        response = await client.get("/api/v1/users", headers={"X-Call-ID": "call-42"})
        generated = await client.get("/api/v1/users")
    assert response.headers[HEADER] == "call-42"
    assert len(generated.headers[HEADER]) == 32
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


async def test_openapi_and_metrics_are_served(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        schema = (await client.get("/schema/openapi.json")).json()
        assert "/api/v1/verify-password" in schema["paths"]
        errors = schema["paths"]["/api/v1/users/{user_id}"]["get"]["responses"]
        assert "TemplateProtectionError" in errors["500"]["description"]
        assert (await client.get("/docs", follow_redirects=False)).status_code in (301, 302, 307)
        assert "swagger" in (await client.get("/schema/swagger")).text.lower()
        await client.post(f"/api/v1/users/{uuid.uuid4()}/enrollments", files=upload(voice(ALICE)))
        metrics = (await client.get("/metrics")).text
    assert 'voiceauth_enrollments_total{channel="upload"} 1.0' in metrics
    assert "voiceauth_http_request_seconds_bucket" in metrics


async def test_logs_carry_the_correlation_id_and_never_the_phone_or_embedding(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, serialize=True, level="DEBUG")
    try:
        async with AsyncTestClient(fake_app(tmp_path)) as client:
            user = str(uuid.uuid4())
            await client.post(
                f"/api/v1/users/{user}/enrollments",
                files=upload(voice(ALICE)),
                data={"phone": "+14155550177"},
                headers={"X-Call-ID": "call-log-1"},
            )
            await client.post(
                f"/api/v1/users/{uuid.uuid4()}/enrollments",
                files=upload(voice(ALICE)),
                data={"phone": "+14155550177"},
                headers={"X-Call-ID": "call-log-2"},
            )
    finally:
        logger.remove(sink)
    text = "\n".join(lines)
    assert "call-log-1" in text
    assert "call-log-2" in text
    assert "14155550177" not in text
    assert "embedding_sum" not in text


async def test_health_names_the_backend_and_what_the_threshold_stands_for(tmp_path: Path) -> None:
    from voiceauth_web.routes.health import operating_point

    async with AsyncTestClient(fake_app(tmp_path, inference_backend="speechbrain")) as client:
        body = (await client.get("/api/v1/health")).json()
    assert body["components"]["model"]["backend"] == "speechbrain"
    assert "not calibrated" in body["operatingPoint"]  # the fake app scores by raw cosine
    measured = operating_point("asnorm-calibrated", 0.82)
    assert "0.015 % of impostors" in measured
    assert "0.4 % of impostors" in measured
    assert "stricter" in operating_point("asnorm-calibrated", 0.9)
    assert "more lenient" in operating_point("asnorm-calibrated", 0.7)
