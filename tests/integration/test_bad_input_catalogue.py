"""The bad-input catalogue: every way a request can be wrong, its status, its error, and that a
failed enrolment writes nothing (a failed verification writes exactly one ERROR attempt).

The app is the real one with the real decoder, downloader and listener; only the model, the
speech detector and the stores are the core's fakes (fast, and enough to decide). Two variants:
``strict`` (the production SSRF guard) and ``open`` (loopback allowed, to reach the local servers).
"""

from __future__ import annotations

import asyncio
import io
import threading
import uuid
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from tests.unit.web.app_harness import fake_container
from voiceauth_adapters.http.testing import AudioFileServer, Route
from voiceauth_adapters.vapi.testing import Failure, ListenCall, VapiListenServer, refused_url
from voiceauth_core.testing import ALICE
from voiceauth_web.app import create_app

pytestmark = pytest.mark.integration


def voice(seconds: float = 5.0, rate: int = 16000) -> np.ndarray:
    return ALICE.voice(seconds=seconds, sample_rate=rate, seed=3).samples


def wav(samples: np.ndarray, rate: int, *, channels: int = 1, width: int = 2) -> bytes:
    frames = np.repeat(samples[:, None], channels, axis=1)
    if width == 1:
        pcm = np.clip(frames * 127 + 128, 0, 255).astype(np.uint8).tobytes()
    else:
        pcm = np.clip(frames * 32767, -32768, 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


def silent_flac(minutes: float) -> bytes:
    """A tiny FLAC file that decodes to a long recording (a decompression bomb in spirit)."""
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(int(minutes * 60 * 8000), np.int16), 8000, format="FLAC")
    return buffer.getvalue()


@contextmanager
def servers_in_a_thread() -> Iterator[tuple[AudioFileServer, VapiListenServer]]:
    """The local servers on an event loop of their own: the test client blocks the test's loop
    while the app handles a request, and the app's downloads must reach a server that runs."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    files, calls = AudioFileServer(), VapiListenServer()
    for server in (files, calls):
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield files, calls
    finally:
        for server in (files, calls):
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@dataclass
class World:
    strict: AsyncTestClient[Any]
    open: AsyncTestClient[Any]
    files: AudioFileServer
    calls: VapiListenServer
    enrolled: str
    users: Any


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    def app(private: bool) -> Any:
        container = fake_container(
            tmp_path, download_timeout=2.0, websocket_timeout=3.0, max_upload_bytes=6_000_000
        )
        adapters = container.adapters
        adapters.decoder.reset_override()  # the real decoder
        if not private:
            settings = container.settings()
            import dataclasses

            container.settings.override(
                providers.Object(dataclasses.replace(settings, allow_private_networks=False))
            )
        return create_app(container), adapters

    strict_app, _ = app(private=False)
    open_app, open_adapters = app(private=True)
    with servers_in_a_thread() as (files, calls):
        async with (
            AsyncTestClient(strict_app) as strict,
            AsyncTestClient(open_app) as open_client,
        ):
            enrolled = str(uuid.uuid4())
            response = await open_client.post(
                f"/api/v1/users/{enrolled}/enrollments",
                files={"file": ("v.wav", wav(voice(), 16000), "audio/wav")},
            )
            assert response.status_code == 200, response.text
            yield World(strict, open_client, files, calls, enrolled, open_adapters.raw_users())


Request = Callable[[World], Awaitable[Any]]


def enrol_json(body: Any, *, strict: bool = False, **kwargs: Any) -> Request:
    async def run(w: World) -> Any:
        client = w.strict if strict else w.open
        if isinstance(body, bytes):
            return await client.post("/api/v1/enroll-user", content=body, **kwargs)
        return await client.post("/api/v1/enroll-user", json=body, **kwargs)

    return run


def enrol_url(url: str, *, strict: bool = True) -> Request:
    return enrol_json({"userId": str(uuid.uuid4()), "audioUrl": url}, strict=strict)


def enrol_served(route: Route) -> Request:
    async def run(w: World) -> Any:
        url = w.files.add(f"/{uuid.uuid4().hex}", route)
        return await w.open.post(
            "/api/v1/enroll-user", json={"userId": str(uuid.uuid4()), "audioUrl": url}
        )

    return run


def enrol_upload(data: bytes, kind: str = "audio/wav") -> Request:
    async def run(w: World) -> Any:
        return await w.open.post(
            f"/api/v1/users/{uuid.uuid4()}/enrollments", files={"file": ("x", data, kind)}
        )

    return run


def verify_call(make_url: Callable[[World], str], *, strict: bool = False) -> Request:
    async def run(w: World) -> Any:
        client = w.strict if strict else w.open
        return await client.post(
            "/api/v1/verify-password", json={"userId": w.enrolled, "listenUrl": make_url(w)}
        )

    return run


def listen(**call: Any) -> Callable[[World], str]:
    return lambda w: w.calls.add(
        ListenCall(caller=ALICE.voice(seconds=4.0, seed=4), speed=None, **call)
    )


U = str(uuid.uuid4())
CASES: list[tuple[str, Request, int, str]] = [
    # Bodies and fields.
    (
        "malformed JSON",
        enrol_json(b"{not json", headers={"content-type": "application/json"}),
        400,
        "ValidationError",
    ),
    ("a JSON array", enrol_json([1, 2]), 400, "ValidationError"),
    (
        "an empty JSON body",
        enrol_json(b"", headers={"content-type": "application/json"}),
        400,
        "ValidationError",
    ),
    (
        "userId of the wrong type",
        enrol_json({"userId": 7, "audioUrl": "https://a.example/x.wav"}),
        400,
        "ValidationError",
    ),
    ("missing audioUrl", enrol_json({"userId": U}), 400, "ValidationError"),
    ("missing userId", enrol_json({"audioUrl": "https://a.example/x.wav"}), 400, "ValidationError"),
    (
        "an unknown field",
        enrol_json({"userId": U, "audioUrl": "https://a/x", "admin": True}),
        400,
        "ValidationError",
    ),
    (
        "a bad UUID",
        enrol_json({"userId": "123-abc", "audioUrl": "https://a.example/x.wav"}),
        400,
        "ValidationError",
    ),
    (
        "a short phone number",
        enrol_json({"userId": U, "phone": "12345", "audioUrl": "https://a/x"}),
        400,
        "ValidationError",
    ),
    (
        "a phone with letters",
        enrol_json({"userId": U, "phone": "+1 555 CALL NOW", "audioUrl": "https://a/x"}),
        400,
        "ValidationError",
    ),
    (
        "a huge body",
        enrol_json(b"[" + b"1," * 4_000_000 + b"1]", headers={"content-type": "application/json"}),
        413,
        "PayloadTooLarge",
    ),
    (
        "text instead of JSON",
        enrol_json(b"userId=1", headers={"content-type": "text/plain"}),
        415,
        "UnsupportedMediaType",
    ),
    # URLs with other schemes.
    ("an ftp URL", enrol_url("ftp://example.com/a.wav"), 400, "AudioDownloadError"),
    ("a file URL", enrol_url("file:///etc/passwd"), 400, "AudioDownloadError"),
    ("a javascript URL", enrol_url("javascript:alert(1)"), 400, "AudioDownloadError"),
    ("a data URL", enrol_url("data:audio/wav;base64,UklGRg=="), 400, "AudioDownloadError"),
    # SSRF targets (the production guard).
    ("loopback", enrol_url("http://127.0.0.1/a.wav"), 400, "AudioDownloadError"),
    ("10/8", enrol_url("http://10.0.0.1/a.wav"), 400, "AudioDownloadError"),
    ("172.16/12", enrol_url("http://172.16.5.4/a.wav"), 400, "AudioDownloadError"),
    ("192.168/16", enrol_url("http://192.168.1.1/a.wav"), 400, "AudioDownloadError"),
    (
        "cloud metadata",
        enrol_url("http://169.254.169.254/latest/meta-data/"),
        400,
        "AudioDownloadError",
    ),
    ("IPv6 loopback", enrol_url("http://[::1]/a.wav"), 400, "AudioDownloadError"),
    (
        "IPv4-mapped loopback",
        enrol_url("http://[::ffff:127.0.0.1]/a.wav"),
        400,
        "AudioDownloadError",
    ),
    ("localhost by name", enrol_url("http://localhost/a.wav"), 400, "AudioDownloadError"),
    ("the unspecified address", enrol_url("http://0.0.0.0/a.wav"), 400, "AudioDownloadError"),
    # Servers that misbehave.
    ("a 404", enrol_served(Route(status=404, body=b"nope")), 400, "AudioDownloadError"),
    ("a 500", enrol_served(Route(status=500, body=b"oops")), 400, "AudioDownloadError"),
    ("a server that never answers", enrol_served(Route(hang=True)), 400, "AudioDownloadError"),
    (
        "a slow-drip server",
        enrol_served(Route(body=wav(voice(), 16000), drip_bytes=64, drip_pause_s=0.5)),
        400,
        "AudioDownloadError",
    ),
    (
        "a 10 GB Content-Length",
        enrol_served(Route(body=b"RIFF", declared_length=10 * 1024**3)),
        400,
        "AudioDownloadError",
    ),
    (
        "HTML instead of audio",
        enrol_served(Route(body=b"<html><body>hi</body></html>", content_type="text/html")),
        400,
        "AudioDownloadError",
    ),
    # Audio that is not usable.
    ("a truncated WAV", enrol_upload(wav(voice(), 16000)[:30]), 422, "AudioProcessingError"),
    (
        "a WAV header claiming 2^31 samples",
        enrol_upload(
            b"RIFF\xff\xff\xff\x7fWAVEfmt "
            + wav(voice(0.4), 16000)[16:40]
            + b"data\xfc\xff\xff\x7f"
            + wav(voice(0.4), 16000)[44:]
        ),
        422,
        "AudioProcessingError",
    ),
    (
        "a decompression bomb (tiny FLAC, 45 minutes)",
        enrol_upload(silent_flac(45), "audio/flac"),
        422,
        "AudioProcessingError",
    ),
    ("0.1 s of audio", enrol_upload(wav(voice(0.1), 16000)), 422, "AudioProcessingError"),
    ("60 s of silence", enrol_upload(wav(np.zeros(60 * 8000), 8000)), 422, "AudioProcessingError"),
    ("5 s of silence", enrol_upload(wav(np.zeros(5 * 16000), 16000)), 422, "AudioProcessingError"),
    (
        "clipped noise",
        enrol_upload(wav(np.sign(np.random.default_rng(1).normal(size=5 * 16000)), 16000)),
        422,
        "AudioProcessingError",
    ),
    ("an empty file", enrol_upload(b""), 422, "AudioProcessingError"),
    (
        "random bytes",
        enrol_upload(np.random.default_rng(2).bytes(50_000)),
        422,
        "AudioProcessingError",
    ),
    (
        "an upload that is HTML",
        enrol_upload(b"<html></html>", "text/html"),
        415,
        "UnsupportedMediaType",
    ),
    ("an upload over the size limit", enrol_upload(b"\0" * 7_000_000), 413, "PayloadTooLarge"),
    # Odd but valid audio is accepted.
    ("8-bit 4 kHz audio", enrol_upload(wav(voice(5.0, 4000), 4000, width=1)), 200, ""),
    ("96 kHz 6-channel audio", enrol_upload(wav(voice(4.0, 96000), 96000, channels=6)), 200, ""),
    # Listen sockets.
    ("a listen socket that refuses", verify_call(lambda w: refused_url()), 502, "CaptureError"),
    (
        "a socket that closes at once",
        verify_call(listen(failure=Failure.CLOSE_AT_ONCE)),
        502,
        "CaptureError",
    ),
    (
        "a socket that sends only JSON",
        verify_call(listen(failure=Failure.ONLY_JSON)),
        502,
        "CaptureError",
    ),
    (
        "a socket that never sends audio",
        verify_call(listen(failure=Failure.NEVER_AUDIO)),
        502,
        "CaptureError",
    ),
    ("a socket that hangs", verify_call(listen(failure=Failure.HANG)), 502, "CaptureError"),
    ("garbage binary frames", verify_call(listen(failure=Failure.GARBAGE)), 502, "CaptureError"),
    ("odd-length frames (still the caller)", verify_call(listen(odd_frames=True)), 200, ""),
    (
        "a ws:// listen URL in production",
        verify_call(lambda w: "ws://x.vapi.ai/c/listen", strict=True),
        400,
        "ValidationError",
    ),
    (
        "a listen URL off vapi.ai",
        verify_call(lambda w: "wss://evil.example/c/listen", strict=True),
        400,
        "ValidationError",
    ),
]


# What the error must say, so that a case cannot pass for another reason (a timeout, say).
SAYS = {
    "an ftp URL": "only http and https",
    "a file URL": "only http and https",
    "a javascript URL": "only http and https",
    "a data URL": "only http and https",
    "loopback": "not allowed",
    "10/8": "not allowed",
    "172.16/12": "not allowed",
    "192.168/16": "not allowed",
    "cloud metadata": "not allowed",
    "IPv6 loopback": "not allowed",
    "IPv4-mapped loopback": "not allowed",
    "localhost by name": "not allowed",
    "the unspecified address": "not allowed",
    "a 404": "http 404",
    "a 500": "http 500",
    "a server that never answers": "did not finish",
    "a slow-drip server": "did not finish",
    "a 10 GB Content-Length": "larger than",
    "HTML instead of audio": "not audio",
    "a truncated WAV": "not audio in a supported format",
    "a WAV header claiming 2^31 samples": "speech",
    "a decompression bomb (tiny FLAC, 45 minutes)": "at most 30 s",
    "0.1 s of audio": "at least 0.3 s",
    "60 s of silence": "at most 30 s",
    "5 s of silence": "silent",
    "clipped noise": "clipped",
    "an empty file": "empty",
    "random bytes": "not audio in a supported format",
    "a listen socket that refuses": "could not connect",
    "a socket that closes at once": "closed before",
    "a socket that sends only JSON": "only events",
    "a socket that never sends audio": "only events",
    "a socket that hangs": "within 3 seconds",
    "garbage binary frames": "not 16-bit pcm",
    "a ws:// listen URL in production": "wss://",
    "a listen URL off vapi.ai": "not an allowed vapi host",
}


@pytest.mark.parametrize(("name", "request_", "status", "error"), CASES, ids=[c[0] for c in CASES])
async def test_bad_input(
    world: World, name: str, request_: Request, status: int, error: str
) -> None:
    users_before = len((await world.users.list(limit=500)).items)
    history_before = len(
        (await world.open.get(f"/api/v1/users/{world.enrolled}/auth-history")).json()["attempts"]
    )
    response = await request_(world)
    assert response.status_code == status, f"{name}: {response.text[:300]}"
    if error:
        body = response.json()
        assert body["error"] == error, body
        assert set(body) == {"error", "message", "correlation_id", "timestamp"}
        assert "Traceback" not in response.text
        assert "ffmpeg" not in body["message"].lower()
        if name in SAYS:
            assert SAYS[name] in body["message"].lower(), body["message"]
    users_after = len((await world.users.list(limit=500)).items)
    history = (await world.open.get(f"/api/v1/users/{world.enrolled}/auth-history")).json()[
        "attempts"
    ]
    if status >= 400:
        assert users_after == users_before, "a failed request wrote an enrolment"
        expected = history_before + (1 if error == "CaptureError" else 0)
        assert len(history) == expected  # failed captures are logged, nothing else is
        if error == "CaptureError":
            assert history[0]["decision"] == "error"


def test_the_catalogue_is_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
