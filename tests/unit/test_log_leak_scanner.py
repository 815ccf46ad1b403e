"""The log leak scanner of the end-to-end privacy test: it finds each kind of leak, in any form,
and never repeats what it found."""

from __future__ import annotations

import json
import urllib.parse

import numpy as np
import pytest

from tests.e2e.log_leaks import LeakScanner

pytestmark = pytest.mark.unit

PHONE = "+14155550142"
KEY = "key-6f1c2a9e7b"
LISTEN_URL = "ws://127.0.0.1:9/0a1b2c3d/listen?token=t0k3n-4e5f"
VECTOR = np.random.default_rng(7).normal(0.0, 0.3, size=192)


def scanner() -> LeakScanner:
    scan = LeakScanner()
    scan.phone(PHONE)
    scan.secret("API key", KEY)
    scan.secret("listen URL", LISTEN_URL)
    scan.embedding("voiceprint", VECTOR.tolist())
    scan.blob("voiceprint bytes", VECTOR.astype("<f8").tobytes())
    return scan


@pytest.mark.parametrize(
    "line",
    [
        "enrolled +14155550142",
        "phone=14155550142",
        "caller (415) 555-0142 rang",
        "caller 415.555.0142",
        "caller +1 415 555 0142",
        json.dumps({"message": "phone +14155550142"}),
        "GET /users?phone=%2B14155550142",
    ],
)
def test_the_phone_number_in_any_form(line: str) -> None:
    [finding] = scanner().scan([line])
    assert finding.kinds == ("phone number",)
    assert "555" not in finding.redacted


@pytest.mark.parametrize(
    "line",
    [
        f"X-API-Key: {KEY}",
        f"key {KEY.upper()}",
        json.dumps({"header": f"Bearer {KEY}"}),
    ],
)
def test_a_secret_in_any_case(line: str) -> None:
    findings = scanner().scan([line])
    assert [f.kinds for f in findings] == [("API key",)], line
    assert "6f1c2a9e7b" not in findings[0].redacted.lower()


@pytest.mark.parametrize("line", [LISTEN_URL, f"GET /x?next={urllib.parse.quote(LISTEN_URL)}"])
def test_a_secret_plain_or_url_encoded(line: str) -> None:
    [finding] = scanner().scan([line])
    assert finding.kinds == ("listen URL",)
    assert "t0k3n" not in finding.redacted


def test_an_escaped_leak_withholds_the_whole_line() -> None:
    line = '{"message": "key k\\u0065y-6f1c2a9e7b"}'
    [finding] = scanner().scan([line])
    assert finding.kinds == ("API key",)
    assert "6f1c" not in finding.redacted


@pytest.mark.parametrize(
    "text",
    [
        str(VECTOR),  # numpy's repr, six values to a line
        str(VECTOR.tolist()),
        repr([np.float32(v) for v in VECTOR[:8]]),
        " and ".join(f"{v:.6f}" for v in VECTOR[10:14]),  # four values in prose
        VECTOR.astype("<f8").tobytes().hex(),
    ],
)
def test_an_embedding_in_any_shape(text: str) -> None:
    assert scanner().scan(text.splitlines()[:1]), text[:200]
    assert scanner().scan([json.dumps({"message": text})])


def test_unrelated_floats_and_any_other_long_list_of_floats() -> None:
    assert scanner().scan([str(np.linspace(0.1, 0.9, 8).tolist())])  # any vector-shaped run
    clean = [
        json.dumps(
            {
                "time": "2026-03-01T12:00:00.123456+00:00",
                "message": "request",
                "ms": 12.3,
                "score": 0.8734121,
                "phone": "+*********42",
                "seconds": 4.51234,
                "user": "103e4155-5501-4200-8000-000000000000",
            }
        ),
        "verify score 0.873412 raw 0.634501 speech 7.84 s",
        "listening to call audio at 127.0.0.1#3f5a0c1d2e4b",
    ]
    assert scanner().scan(clean) == []


def test_a_secret_too_short_to_search_for_is_refused() -> None:
    with pytest.raises(ValueError, match="short"):
        LeakScanner().secret("API key", "abc")
