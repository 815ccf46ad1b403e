"""VAPI's credentials (secret header, bearer token, HMAC signature) and per-credential limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from tests.unit.web.app_harness import fake_app
from voiceauth_web.security import (
    HmacSignature,
    VapiAuthenticator,
    VapiAuthError,
)

pytestmark = pytest.mark.unit

NOW = 1_790_000_000.0
CALL = {"message": {"type": "tool-calls", "toolCallList": [], "call": {}}}
BODY = json.dumps(CALL).encode()


def signed(body: bytes, secret: str, stamp: str, algorithm: str = "sha256") -> bytes:
    """What VAPI computes by default: HMAC of ``{timestamp}.{body}``."""
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, algorithm).digest()


# --- the HMAC signature -----------------------------------------------------------------------


def test_a_signature_in_any_encoding_vapi_offers_is_accepted() -> None:
    check = HmacSignature("hm4c")
    stamp = str(int(NOW))
    digest = signed(BODY, "hm4c", stamp)
    for presented in (
        digest.hex(),
        digest.hex().upper(),
        base64.b64encode(digest).decode(),
        "sha256=" + digest.hex(),
        check.sign(BODY, stamp),
    ):
        check.check(presented, stamp, BODY, now=NOW)
    # Milliseconds, as JavaScript's Date.now() gives them, are read as such.
    millis = str(int(NOW * 1000))
    check.check(signed(BODY, "hm4c", millis).hex(), millis, BODY, now=NOW)
    strong = HmacSignature("hm4c", algorithm="sha512")
    strong.check(signed(BODY, "hm4c", stamp, "sha512").hex(), stamp, BODY, now=NOW)


@given(st.binary(min_size=1, max_size=300), st.data())
def test_any_change_to_the_body_breaks_the_signature(body: bytes, data: st.DataObject) -> None:
    check = HmacSignature("hm4c")
    stamp = str(int(NOW))
    signature = check.sign(body, stamp)
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    check.check(signature, stamp, body, now=NOW)
    with pytest.raises(VapiAuthError, match="wrong HMAC signature"):
        check.check(signature, stamp, tampered, now=NOW)


@pytest.mark.parametrize(
    ("stamp", "problem"),
    [
        (None, "needs its x-timestamp header"),
        ("yesterday", "not a Unix time"),
        ("-5", "not a Unix time"),
        ("\u0661\u0667\u0669\u0660", "not a Unix time"),  # digits, but not ASCII ones
        (str(int(NOW) - 301), "more than 300 s from now"),  # replayed later
        (str(int(NOW) + 301), "more than 300 s from now"),
        (str(int(NOW * 1000) - 301_000), "more than 300 s from now"),
    ],
)
def test_a_signature_needs_a_fresh_timestamp(stamp: str | None, problem: str) -> None:
    check = HmacSignature("hm4c", tolerance_s=300)
    # Signed correctly for the timestamp it carries: only the time is wrong.
    signature = check.sign(BODY, stamp or "0")
    with pytest.raises(VapiAuthError, match=problem):
        check.check(signature, stamp, BODY, now=NOW)
    check.check(check.sign(BODY, str(int(NOW) - 299)), str(int(NOW) - 299), BODY, now=NOW)


def test_a_signature_made_with_another_secret_or_algorithm_is_refused() -> None:
    stamp = str(int(NOW))
    check = HmacSignature("hm4c")
    for digest in (signed(BODY, "other", stamp), signed(BODY, "hm4c", stamp, "sha1")):
        with pytest.raises(VapiAuthError, match="wrong HMAC signature"):
            check.check(digest.hex(), stamp, BODY, now=NOW)


# --- which credential, and the key the limit counts it under ---------------------------------


def authenticator() -> VapiAuthenticator:
    return VapiAuthenticator(["s3cret"], HmacSignature("hm4c"))


def test_each_credential_type_is_recognised_and_keyed_without_its_secret() -> None:
    vapi = authenticator()
    stamp = str(int(NOW))
    header = vapi.authenticate({"x-vapi-secret": "s3cret"}, None, now=NOW)
    bearer = vapi.authenticate({"authorization": "Bearer s3cret"}, None, now=NOW)
    signature = {"x-signature": signed(BODY, "hm4c", stamp).hex(), "x-timestamp": stamp}
    hmac_ = vapi.authenticate(signature, BODY, now=NOW)
    assert [c.kind for c in (header, bearer, hmac_)] == ["x-vapi-secret", "bearer", "hmac"]
    assert header.key_id == bearer.key_id != hmac_.key_id  # one secret, two ways to send it
    keys = {c.rate_key for c in (header, bearer, hmac_)}
    assert len(keys) == 3
    assert all("s3cret" not in key and "hm4c" not in key for key in keys)
    assert header.rate_key == f"vapi:x-vapi-secret:{header.key_id}"
    # The key id is stable (every replica counts under the same Redis key) and secret-specific.
    assert header.key_id == hashlib.sha256(b"voiceauth/vapi-credential\x00s3cret").hexdigest()[:16]
    other = VapiAuthenticator(["another"]).authenticate({"x-vapi-secret": "another"}, None, now=NOW)
    assert other.key_id != header.key_id


def test_a_rotated_secret_is_keyed_by_the_secret_that_matched() -> None:
    vapi = VapiAuthenticator(["old-one", "new-one"])
    old = vapi.authenticate({"x-vapi-secret": "old-one"}, None, now=NOW)
    new = vapi.authenticate({"x-vapi-secret": "new-one"}, None, now=NOW)
    assert old.rate_key != new.rate_key


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({}, "missing VAPI credential"),
        ({"x-api-key": "s3cret"}, "missing VAPI credential"),
        ({"x-vapi-secret": "nope"}, "wrong VAPI X-Vapi-Secret header"),
        ({"authorization": "Bearer nope"}, "wrong VAPI bearer token"),
        ({"authorization": "Basic czNjcmV0"}, "must be 'Bearer <token>'"),
        # Every credential presented must be right, not just one of them.
        ({"x-vapi-secret": "s3cret", "authorization": "Bearer nope"}, "bearer token"),
        ({"x-vapi-secret": "s3cret", "x-signature": "00", "x-timestamp": "1"}, "from now"),
    ],
)
def test_missing_or_wrong_credentials_are_refused(headers: dict[str, str], problem: str) -> None:
    with pytest.raises(VapiAuthError, match=problem) as refused:
        authenticator().authenticate(headers, BODY, now=NOW)
    assert "s3cret" not in refused.value.message


def test_without_an_hmac_secret_a_signature_header_is_no_credential() -> None:
    vapi = VapiAuthenticator(["s3cret"])
    assert vapi.signature_header is None
    with pytest.raises(VapiAuthError, match="missing"):
        vapi.authenticate({"x-signature": "00", "x-timestamp": "1"}, BODY, now=NOW)
    assert not VapiAuthenticator([]).enabled
    assert VapiAuthenticator([], HmacSignature("hm4c")).enabled


# --- through the app ---------------------------------------------------------------------------


def hmac_headers(body: bytes, secret: str = "hm4c", age_s: float = 0.0) -> dict[str, str]:
    stamp = str(int(time.time() - age_s))
    return {
        "x-signature": signed(body, secret, stamp).hex(),
        "x-timestamp": stamp,
        "content-type": "application/json",
    }


async def test_every_vapi_route_takes_each_credential_type(tmp_path: Path) -> None:
    app = fake_app(tmp_path, vapi_tool_secret="s3cret", vapi_hmac_secret="hm4c")
    async with AsyncTestClient(app) as client:
        route = "/api/v1/vapi/tool-calls"
        for headers in ({"X-Vapi-Secret": "s3cret"}, {"Authorization": "Bearer s3cret"}):
            answer = await client.post(route, json=CALL, headers=headers)
            assert answer.status_code == 200, answer.text
        signed_call = await client.post(route, content=BODY, headers=hmac_headers(BODY))
        assert signed_call.status_code == 200, signed_call.text
        assert signed_call.json() == {"results": []}  # the handler read the replayed body
        for spelling in ("/api/v1/vapi/tool-calls/", "/api/v1//vapi/tool-calls"):
            answer = await client.post(spelling, json=CALL)
            assert answer.status_code == 401, spelling  # the route matched, not the spelling
        # Any path under /api/v1/vapi/ is guarded, even one no handler serves (yet).
        refused = await client.post("/api/v1/vapi/events", json=CALL)
        assert refused.status_code == 401
        assert "missing VAPI credential" in refused.json()["message"]
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert (
            await client.post("/api/v1/vapi/events", json=CALL, headers={"X-Vapi-Secret": "s3cret"})
        ).status_code != 401


async def test_a_tampered_or_replayed_signed_request_is_refused(tmp_path: Path) -> None:
    app = fake_app(tmp_path, vapi_hmac_secret="hm4c")
    route = "/api/v1/vapi/tool-calls"
    async with AsyncTestClient(app) as client:
        tampered = BODY.replace(b"tool-calls", b"tool-calla")
        answer = await client.post(route, content=tampered, headers=hmac_headers(BODY))
        assert answer.status_code == 401
        assert answer.json()["message"] == "wrong HMAC signature"
        replayed = await client.post(route, content=BODY, headers=hmac_headers(BODY, age_s=900))
        assert replayed.status_code == 401
        assert "from now" in replayed.json()["message"]
        # With only an HMAC secret set, the token headers prove nothing.
        token = await client.post(route, json=CALL, headers={"X-Vapi-Secret": "hm4c"})
        assert token.status_code == 401


async def test_vapi_routes_are_limited_per_credential_not_per_address(tmp_path: Path) -> None:
    app = fake_app(
        tmp_path, vapi_tool_secret="s3cret", vapi_hmac_secret="hm4c", rate_limit_per_minute=3
    )
    route = "/api/v1/vapi/tool-calls"
    async with AsyncTestClient(app) as client:  # every request from the same address
        header = {"X-Vapi-Secret": "s3cret"}
        codes = [
            (await client.post(route, json=CALL, headers=header)).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        # The same address with another credential, or on other routes, has its own counts.
        bearer = {"Authorization": "Bearer s3cret"}
        assert (await client.post(route, json=CALL, headers=bearer)).status_code == 200
        assert (
            await client.post(route, content=BODY, headers=hmac_headers(BODY))
        ).status_code == 200
        assert (await client.get("/api/v1/users")).status_code == 200


async def test_failed_vapi_attempts_are_limited_per_address(tmp_path: Path) -> None:
    app = fake_app(tmp_path, vapi_tool_secret="s3cret", rate_limit_per_minute=3)
    route = "/api/v1/vapi/tool-calls"
    async with AsyncTestClient(app) as client:
        wrong = {"X-Vapi-Secret": "guess"}
        codes = [(await client.post(route, json=CALL, headers=wrong)).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        # The right credential is counted apart: a guesser cannot lock VAPI out.
        right = {"X-Vapi-Secret": "s3cret"}
        assert (await client.post(route, json=CALL, headers=right)).status_code == 200


async def test_vapi_routes_are_off_without_any_vapi_credential(tmp_path: Path) -> None:
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        answer = await client.post("/api/v1/vapi/tool-calls", json=CALL)
    assert answer.status_code == 403
    assert "VAPI_TOOL_SECRET or VAPI_HMAC_SECRET" in answer.json()["message"]
