"""A real local WebSocket server that behaves like VAPI's listen socket, for tests.

It streams a "call": an optional ``start`` frame, then stereo interleaved 16-bit PCM in 20 ms
frames (the caller on channel 0, the assistant on channel 1), with JSON transcript events in
between, paced in real time or faster. Knobs reproduce every failure the listener must survive.
Other test suites (the web service's end-to-end tests) import it::

    async with VapiListenServer() as server:
        url = server.add(ListenCall(caller=voice_a, assistant=voice_b, speed=4.0))

Nothing here runs at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import ipaddress
import json
import secrets
import socket
import ssl
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import numpy.typing as npt
from aiohttp import WSCloseCode, web

from voiceauth_core.audio import CANONICAL_RATE, Audio

__all__ = [
    "Failure",
    "ListenCall",
    "VapiListenServer",
    "refused_url",
    "tls_contexts",
    "tool_call_message",
]


class Failure(enum.StrEnum):
    """How a call goes wrong."""

    NONE = "none"
    REJECT = "reject"  # the upgrade is answered with ``reject_status`` (404 by default)
    STALL_HANDSHAKE = "stall_handshake"  # the upgrade request is never answered
    CLOSE_AT_ONCE = "close_at_once"  # the socket opens and closes before anything is sent
    ONLY_JSON = "only_json"  # transcript events, then close, no audio
    NEVER_AUDIO = "never_audio"  # transcript events forever, never audio, never closes
    GARBAGE = "garbage"  # random bytes as binary frames (not PCM), then close
    TINY = "tiny"  # one binary byte (not even one sample), then close
    HANG = "hang"  # the socket opens and stays silent
    #: The call streams on and never reads what the listener sends, so the listener's close
    #: frame is never answered; the call ends only when its audio does or the listener drops
    #: the connection.
    IGNORE_CLOSE = "ignore_close"


@dataclass(slots=True, kw_only=True)
class ListenCall:
    """One call the server plays, and what it observed.

    Args:
        caller: The caller's voice (channel ``customer_channel``), at 16 kHz.
        assistant: The assistant's voice (the other channel); None: silence.
        sample_rate: The stream's rate (the voices are resampled to it).
        channels: 2 (interleaved) or 1 (the caller only).
        customer_channel: Where the caller goes in a stereo stream.
        duplicated: Mono sent as "stereo": the caller in both channels (``assistant`` unused).
        send_start: Send VAPI's ``start`` frame first.
        start_event: Replace the ``start`` frame's content (to test odd announcements).
        frame_ms: Audio per binary frame.
        speed: Real-time factor of the pacing (1.0: real time); None: as fast as possible.
        transcript_every: Frames between JSON transcript events (0: none).
        odd_frames: Re-split the byte stream at odd sizes, breaking samples across messages.
        failure: What goes wrong.
        reject_status: The HTTP status of a rejected upgrade.
        token: Require ``Authorization: Bearer <token>`` (401 otherwise).
        close_at_end: Close the socket once the audio is sent (as VAPI does when a call ends).
    """

    caller: Audio
    assistant: Audio | None = None
    sample_rate: int = CANONICAL_RATE
    channels: int = 2
    customer_channel: int = 0
    duplicated: bool = False
    send_start: bool = True
    start_event: dict[str, object] | None = None
    frame_ms: float = 20.0
    speed: float | None = None
    transcript_every: int = 25
    odd_frames: bool = False
    failure: Failure = Failure.NONE
    reject_status: int = 404
    token: str | None = None
    close_at_end: bool = True
    # What the server saw.
    connections: int = 0
    authorizations: list[str | None] = field(default_factory=list)
    bytes_sent: int = 0
    frames_sent: int = 0
    #: (seconds of audio sent so far, ``time.perf_counter()``) after each audio frame: when the
    #: audio up to a point in the call had gone out (benchmarks time decisions by it).
    sent_at: list[tuple[float, float]] = field(default_factory=list)
    completed: bool = False
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)

    def time_sent(self, audio_seconds: float) -> float | None:
        """When the frame that completed the first ``audio_seconds`` of the call went out."""
        for heard, when in self.sent_at:
            if heard >= audio_seconds - 1e-6:
                return when
        return None

    def pcm(self) -> bytes:
        """The interleaved 16-bit little-endian stream the call sends."""
        caller = _at_rate(self.caller, self.sample_rate)
        other = (
            _at_rate(self.assistant, self.sample_rate)
            if self.assistant is not None
            else np.zeros(0, np.float32)
        )
        length = max(len(caller), len(other) if self.channels > 1 else 0)
        frames = np.zeros((length, self.channels), np.float64)
        frames[: len(caller), self.customer_channel if self.channels > 1 else 0] = caller
        if self.channels > 1 and self.duplicated:
            frames[: len(caller), 1 - self.customer_channel] = caller
        elif self.channels > 1:
            frames[: len(other), 1 - self.customer_channel] = other
        pcm = np.clip(np.round(frames * 32767.0), -32768, 32767).astype("<i2")
        return pcm.tobytes()

    @property
    def frame_bytes(self) -> int:
        """Bytes in one ``frame_ms`` binary frame."""
        return round(self.sample_rate * self.frame_ms / 1000) * self.channels * 2


def _at_rate(audio: Audio, rate: int) -> npt.NDArray[np.float64]:
    samples = audio.samples.astype(np.float64)
    if audio.sample_rate == rate:
        return samples
    from math import gcd  # noqa: PLC0415

    from scipy.signal import resample_poly  # noqa: PLC0415  # scipy only when rates differ

    common = gcd(rate, audio.sample_rate)
    resampled: npt.NDArray[np.float64] = resample_poly(
        samples, rate // common, audio.sample_rate // common
    )
    return resampled


def _odd_pieces(data: bytes, typical: int) -> list[bytes]:
    """``data`` cut at odd, irregular sizes (a sample or a frame split across messages)."""
    rng = np.random.default_rng(1234)
    pieces, start = [], 0
    while start < len(data):
        size = int(rng.integers(1, typical)) | 1
        pieces.append(data[start : start + size])
        start += size
    return pieces


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _until_gone(request: web.Request) -> None:
    """Returns once the peer has dropped the connection (nothing it sent is read)."""
    while not _gone(request):  # noqa: ASYNC110  # aiohttp has no event for a transport that closes
        await asyncio.sleep(0.02)


def _transcript(index: int) -> str:
    role = "user" if index % 2 else "assistant"
    return json.dumps(
        {"type": "transcript", "role": role, "transcriptType": "partial", "transcript": "..."}
    )


class VapiListenServer:
    """A local VAPI-like listen-socket server (``ws://``, or ``wss://`` with ``ssl_context``).

    Args:
        host: The address to listen on (loopback).
        ssl_context: Serve TLS with it (see :func:`tls_contexts`).
    """

    def __init__(
        self, host: str = "127.0.0.1", *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._host = host
        self._ssl = ssl_context
        self._calls: dict[str, ListenCall] = {}
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._stop = asyncio.Event()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._port

    def add(self, call: ListenCall) -> str:
        """Play ``call`` to whoever opens the returned listen URL."""
        call_id = secrets.token_hex(8)
        self._calls[call_id] = call
        scheme = "wss" if self._ssl else "ws"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self._port}/{call_id}/listen"

    async def start(self) -> None:
        """Bind to a free port and serve."""
        app = web.Application()
        app.router.add_get("/{call_id}/listen", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((self._host, 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, ssl_context=self._ssl).start()

    async def stop(self) -> None:
        """Stop serving; hanging calls are released."""
        self._stop.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        call = self._calls.get(request.match_info["call_id"])
        if call is None:
            return web.Response(status=404)
        call.connections += 1
        try:
            return await self._answer(request, call)
        finally:
            call.disconnected.set()

    async def _answer(self, request: web.Request, call: ListenCall) -> web.StreamResponse:
        authorization = request.headers.get("Authorization")
        call.authorizations.append(authorization)
        if call.token is not None and authorization != f"Bearer {call.token}":
            return web.Response(status=401, text="unauthorized")
        if call.failure is Failure.REJECT:
            return web.Response(status=call.reject_status)
        if call.failure is Failure.STALL_HANDSHAKE:
            # Never answer; notice when the listener gives up (or the server stops).
            while not self._stop.is_set() and not _gone(request):  # noqa: ASYNC110  # aiohttp has no event for a peer that leaves before the upgrade
                await asyncio.sleep(0.05)
            return web.Response(status=503)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        # Read concurrently, as a real server does: the listener's close frame is answered at
        # once, and the call stops playing when the listener leaves.
        reader = asyncio.ensure_future(
            _until_gone(request)
            if call.failure is Failure.IGNORE_CLOSE
            else self._read_until_closed(ws)
        )
        player = asyncio.ensure_future(self._play_quietly(ws, call))
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({reader, player, stopped}, return_when=asyncio.FIRST_COMPLETED)
            keep_open = call.failure is Failure.HANG or not call.close_at_end
            if player.done() and keep_open and not reader.done() and not stopped.done():
                await asyncio.wait({reader, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, player, stopped):
                task.cancel()
            if not ws.closed:
                await ws.close(code=WSCloseCode.OK)
        return ws

    @staticmethod
    async def _read_until_closed(ws: web.WebSocketResponse) -> None:
        async for _message in ws:
            pass  # a listen socket ignores what the listener sends

    async def _play_quietly(self, ws: web.WebSocketResponse, call: ListenCall) -> None:
        with contextlib.suppress(ConnectionError):  # the listener may leave mid-call
            await self._play(ws, call)

    async def _play(self, ws: web.WebSocketResponse, call: ListenCall) -> None:
        failure = call.failure
        if failure in (Failure.CLOSE_AT_ONCE, Failure.HANG):
            return
        if call.send_start:
            await ws.send_str(json.dumps(call.start_event or self._start_event(call)))
        if failure is Failure.ONLY_JSON:
            for index in range(5):
                await ws.send_str(_transcript(index))
            return
        if failure is Failure.NEVER_AUDIO:
            index = 0
            while not ws.closed:
                await ws.send_str(_transcript(index))
                index += 1
                await asyncio.sleep(0.2)
            return
        if failure is Failure.TINY:
            await ws.send_bytes(b"\x01")
            return
        data = (
            np.random.default_rng(99).bytes(call.sample_rate * call.channels * 2)
            if failure is Failure.GARBAGE
            else call.pcm()
        )
        await self._stream(ws, call, data)

    @staticmethod
    def _start_event(call: ListenCall) -> dict[str, object]:
        return {
            "type": "start",
            "encoding": "linear16",
            "container": "raw",
            "sampleRate": call.sample_rate,
            "channels": call.channels,
        }

    async def _stream(self, ws: web.WebSocketResponse, call: ListenCall, data: bytes) -> None:
        step = call.frame_bytes
        if call.odd_frames or call.failure is Failure.GARBAGE:
            pieces = _odd_pieces(data, 2 * step)
        else:
            pieces = [data[i : i + step] for i in range(0, len(data), step)]
        loop = asyncio.get_running_loop()
        begin = loop.time()
        sent_bytes = 0
        bytes_per_s = call.sample_rate * call.channels * 2
        for index, piece in enumerate(pieces):
            if ws.closed or self._stop.is_set():
                return
            if call.speed:
                due = begin + sent_bytes / bytes_per_s / call.speed
                await asyncio.sleep(max(0.0, due - loop.time()))
            await ws.send_bytes(piece)
            sent_bytes += len(piece)
            call.bytes_sent = sent_bytes
            call.frames_sent = index + 1
            call.sent_at.append((sent_bytes / bytes_per_s, time.perf_counter()))
            if call.transcript_every and (index + 1) % call.transcript_every == 0:
                await ws.send_str(_transcript(index))
            if not call.speed:
                await asyncio.sleep(0)  # let the listener run, as a real network would
        call.completed = True


def refused_url(host: str = "127.0.0.1") -> str:
    """A listen URL on a local port where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    return f"ws://{host}:{port}/refused/listen"


def tls_contexts(host: str = "127.0.0.1") -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A fresh self-signed certificate: (server context, client context that trusts it).

    A client with the default trust store fails the TLS handshake against the server.
    """
    from cryptography import x509  # noqa: PLC0415  # a test-only dependency, when TLS is tested
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "voiceauth test listen server")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as folder:
        cert_path, key_path = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert_path.write_bytes(cert_pem)
        key_path.write_bytes(key_pem)
        server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client


def tool_call_message(
    arguments: Mapping[str, object],
    *,
    listen_url: str,
    customer_number: str | None = None,
    tool_call_id: str = "call_tool_1",
    call_id: str = "call-1",
) -> dict[str, object]:
    """A ``tool-calls`` server message as VAPI posts it to a tool's server URL.

    One ``verify_voice`` function call with ``arguments`` (JSON-encoded, as VAPI sends them); the
    call's live listen socket under ``call.monitor.listenUrl``.
    """
    call: dict[str, object] = {"id": call_id, "monitor": {"listenUrl": listen_url}}
    if customer_number is not None:
        call["customer"] = {"number": customer_number}
    return {
        "message": {
            "type": "tool-calls",
            "toolCallList": [
                {
                    "id": tool_call_id,
                    "type": "function",
                    "function": {"name": "verify_voice", "arguments": json.dumps(dict(arguments))},
                }
            ],
            "call": call,
        }
    }
