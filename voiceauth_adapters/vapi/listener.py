"""The VAPI live listener: hears a call's ``listenUrl`` WebSocket and keeps only the caller.

Binary messages are interleaved 16-bit little-endian PCM (customer on channel 0, assistant on
channel 1 by default); text messages are JSON events. A ``start`` event, when one arrives, sets
the sample rate and channel count. Without one, the channel layout is recognised from the first
audio (:mod:`voiceauth_adapters.vapi.layout`: stereo, mono sent as duplicated "stereo", or mono).
The caller's channel is resampled to 16 kHz and streamed as it arrives; the assistant's channel
is dropped before anything else sees it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import aiohttp
import numpy as np
import numpy.typing as npt
from aiohttp.abc import AbstractResolver
from yarl import URL

from voiceauth_adapters.http.guard import AddressPolicy, AddressRefusedError, GuardedResolver
from voiceauth_adapters.vapi.framing import Deinterleaver, PcmFormat, looks_like_pcm16
from voiceauth_adapters.vapi.layout import (
    ChannelLayout,
    LayoutSource,
    ListenLayout,
    classify_layout,
    layout_of,
)
from voiceauth_adapters.vapi.listen_url import ListenUrlPolicy, redacted
from voiceauth_adapters.vapi.resampling import StreamingResampler
from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.errors import CaptureError

__all__ = ["VapiListenSource", "VapiListener"]

_log = logging.getLogger("voiceauth_adapters.vapi")

_Samples = npt.NDArray[np.float32]

_PCM_ENCODINGS = frozenset({"linear16", "pcm_s16le", "pcm16", "s16le"})
_PROBE_S = 0.5  # audio inspected for plausibility before any is released
#: Without a ``start`` frame, the layout is judged on at least this much audio (read as two
#: channels at the configured rate), and on at most this much: after it, silence so far means
#: the configured format. Nothing is lost meanwhile: the bytes are held, then decoded.
_LAYOUT_MIN_S = 0.5
_LAYOUT_MAX_S = 1.0
_MAX_MESSAGE = 4 * 1024 * 1024
#: How long closing the socket may take before the connection is dropped. aiohttp's close reads
#: on until the peer's close frame and its ``ws_close`` timeout applies to each read, so a server
#: that keeps streaming and never answers would hold the caller's decision until the call ends.
_CLOSE_S = 1.0


def _whole(value: object) -> int | None:
    """A JSON number that is a whole number (16000 or 16000.0), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


@dataclass(slots=True)
class _Capture:
    """What one listening session has seen so far."""

    pcm: PcmFormat
    deinterleaver: Deinterleaver
    resampler: StreamingResampler
    heard: int = 0  # output samples delivered, at 16 kHz
    binary_bytes: int = 0
    events: int = 0
    timed_out: bool = False
    checked: bool = False
    held: list[_Samples] = field(default_factory=list)
    probe: list[_Samples] = field(default_factory=list)
    #: How the audio is read, once decided (a ``start`` frame, or the first audio).
    layout: ListenLayout | None = None
    #: Bytes received before the layout was decided.
    pending: bytearray = field(default_factory=bytearray)

    @classmethod
    def start(cls, pcm: PcmFormat) -> _Capture:
        return cls(
            pcm=pcm,
            deinterleaver=Deinterleaver(pcm),
            resampler=StreamingResampler(pcm.sample_rate, CANONICAL_RATE),
        )

    def adopt(self, pcm: PcmFormat) -> None:
        """Read what follows as ``pcm``."""
        self.pcm = pcm
        self.deinterleaver = Deinterleaver(pcm)
        self.resampler = StreamingResampler(pcm.sample_rate, CANONICAL_RATE)
        self.checked = False


class VapiListenSource:
    """The caller's side of one live call, as an :class:`~voiceauth_core.ports.AudioSource`.

    Made by :meth:`VapiListener.source`. Connect as early as possible (:meth:`connect`, or use the
    source as an async context manager): audio spoken before the socket opens is lost. The
    stream ends when the call closes the socket, after ``max_audio_s`` of caller audio, or at
    ``timeout_s`` after connecting; the socket is closed as soon as the consumer stops.

    Failures are :class:`~voiceauth_core.errors.CaptureError` with a ``reason``:
    ``connect_failed``, ``connect_timeout``, ``tls_error``, ``auth_rejected``, ``closed`` (the
    socket closed before any audio), ``no_audio`` (only JSON events), ``bad_audio`` (binary data
    that is not 16-bit PCM, or an unsupported announced format) and ``timeout`` (nothing arrived).

    The channel layout each call was read with is logged once (no audio, no URL) and passed
    to ``on_layout``, if given.
    """

    def __init__(
        self,
        url: URL,
        *,
        session: aiohttp.ClientSession,
        pcm: PcmFormat,
        public_key: str | None,
        max_audio_s: float,
        timeout_s: float,
        connect_timeout_s: float,
        ssl_context: ssl.SSLContext | None,
        on_layout: Callable[[ListenLayout], None] | None = None,
    ) -> None:
        self._url = url
        self._session = session
        self._pcm = pcm
        self._on_layout = on_layout
        self._public_key = public_key
        self._max_samples = round(max_audio_s * CANONICAL_RATE)
        self._timeout_s = timeout_s
        self._connect_timeout_s = min(connect_timeout_s, timeout_s)
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._started: float | None = None
        self._used = False
        self._closed = False

    @property
    def channel(self) -> str:
        """Always ``vapi``."""
        return "vapi"

    @property
    def live(self) -> bool:
        """A live capture."""
        return True

    @property
    def where(self) -> str:
        """The listen URL as it may be logged: host and a hash."""
        return redacted(self._url)

    async def connect(self) -> None:
        """Open the socket now (idempotent); the timeout runs from here.

        Raises:
            CaptureError: The socket could not be opened.
        """
        if self._ws is not None:
            return
        if self._closed:
            raise CaptureError("the call's audio was already heard", reason="closed")
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        headers = {"Authorization": f"Bearer {self._public_key}"} if self._public_key else {}
        _log.info("listening to call audio at %s", self.where)
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                self._ws = await self._session.ws_connect(
                    self._url,
                    headers=headers,
                    ssl=self._ssl,
                    autoping=True,
                    max_msg_size=_MAX_MESSAGE,
                    timeout=aiohttp.ClientWSTimeout(ws_close=_CLOSE_S),
                )
        except TimeoutError as exc:
            raise self._failed(
                "connecting to the call's audio timed out", "connect_timeout"
            ) from exc
        except aiohttp.WSServerHandshakeError as exc:
            # ``from None``: the handshake error's text carries the full listen URL.
            if exc.status in (401, 403):
                raise self._failed(
                    "the call's audio socket refused our credentials (check VAPI_PUBLIC_KEY)",
                    "auth_rejected",
                ) from None
            raise self._failed(
                f"the call's audio socket answered HTTP {exc.status}", "connect_failed"
            ) from None
        except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
            raise self._failed(
                "the call's audio socket failed the TLS handshake", "tls_error"
            ) from exc
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.__cause__ or exc.os_error, AddressRefusedError):
                raise self._failed(
                    "the call's audio socket is at an address that is not allowed",
                    "connect_failed",
                ) from exc
            raise self._failed(
                "the call's audio host could not be resolved", "connect_failed"
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise self._failed("could not connect to the call's audio", "connect_failed") from exc

    async def aclose(self) -> None:
        """Close the socket (idempotent), within a second: a peer that does not answer the close
        handshake by then has its connection dropped."""
        self._closed = True
        ws, self._ws = self._ws, None
        if ws is None or ws.closed:
            return
        try:
            # Cancelled mid-close, aiohttp closes the underlying connection before re-raising.
            async with asyncio.timeout(_CLOSE_S):
                await ws.close()
        except TimeoutError:
            _log.info(
                "the listen socket at %s did not answer our close within %g s; dropped it",
                self.where,
                _CLOSE_S,
            )
        except (aiohttp.ClientError, OSError):
            _log.debug("closing the listen socket at %s failed", self.where)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def fetch(self) -> Audio:
        """The caller's audio until the call ends or a limit is reached."""
        chunks = [chunk async for chunk in self.stream()]
        return Audio.concatenate(chunks)

    async def stream(self) -> AsyncGenerator[Audio, None]:
        """The caller's audio at 16 kHz, chunk by chunk as it arrives (once per source).

        Raises:
            CaptureError: The audio could not be captured (see the class for reasons).
        """
        if self._used:
            raise CaptureError("the call's audio can be heard only once", reason="closed")
        self._used = True
        try:
            await self.connect()
            assert self._ws is not None
            capture = _Capture.start(self._pcm)
            async with aclosing(self._receive(self._ws, capture)) as received:
                async for samples in received:
                    chunk = samples[: self._max_samples - capture.heard]
                    capture.heard += len(chunk)
                    if len(chunk):
                        yield Audio(samples=chunk, sample_rate=CANONICAL_RATE)
                    if capture.heard >= self._max_samples:
                        break
            _log.info(
                "heard %.2f s of caller audio at %s (%d events)",
                capture.heard / CANONICAL_RATE,
                self.where,
                capture.events,
            )
            self._check_heard(capture)
        finally:
            await self.aclose()

    async def _receive(
        self, ws: aiohttp.ClientWebSocketResponse, capture: _Capture
    ) -> AsyncGenerator[_Samples, None]:
        """Caller samples at 16 kHz, released once the first of them look like PCM."""
        loop = asyncio.get_running_loop()
        assert self._started is not None
        deadline = self._started + self._timeout_s
        while True:
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    message = await ws.receive()
            except TimeoutError:
                capture.timed_out = True
                break
            if message.type == aiohttp.WSMsgType.BINARY:
                for samples in self._on_audio(message.data, capture):
                    yield samples
            elif message.type == aiohttp.WSMsgType.TEXT:
                for samples in self._on_event(message.data, capture):
                    yield samples
            else:  # CLOSE, CLOSING, CLOSED or ERROR: the call is over
                if message.type == aiohttp.WSMsgType.ERROR:
                    _log.info("the listen socket at %s failed", self.where)
                break
        for samples in self._drain(capture):
            yield samples

    def _on_audio(self, data: bytes, capture: _Capture) -> list[_Samples]:
        capture.binary_bytes += len(data)
        if capture.layout is None:
            capture.pending += data
            if not self._settle(capture, final=False):
                return []
            data = bytes(capture.pending)
            capture.pending.clear()
        return self._decode(data, capture)

    def _settle(self, capture: _Capture, *, final: bool) -> bool:
        """Decide the layout from the held bytes if they are enough (or ``final``)."""
        configured = self._pcm
        if configured.channels > 2:  # VAPI streams one or two; more is the operator's word
            self._adopt(capture, layout_of(None, configured))
            return True
        held_s = len(capture.pending) / (configured.sample_rate * 2 * 2)  # as two channels
        if held_s < _LAYOUT_MIN_S and not final:
            return False
        layout = classify_layout(bytes(capture.pending))
        if layout is None and held_s < _LAYOUT_MAX_S and not final:
            return False
        self._adopt(capture, layout_of(layout, configured))
        return True

    def _adopt(self, capture: _Capture, layout: ListenLayout) -> None:
        """Read the call with ``layout``; log it once (no audio, no URL) and report it."""
        capture.layout = layout
        if layout.pcm != capture.pcm:
            capture.adopt(layout.pcm)
        pcm = layout.pcm
        _log.info(
            "call audio layout: %s (%s), %d Hz, %d channel(s), caller on channel %d",
            layout.layout,
            layout.source,
            pcm.sample_rate,
            pcm.channels,
            pcm.customer_channel,
        )
        if layout.layout is not ChannelLayout.STEREO:
            _log.warning(
                "the call streams %s audio: the caller cannot be separated from the assistant",
                layout.layout,
            )
        if self._on_layout is not None:
            self._on_layout(layout)

    def _decode(self, data: bytes, capture: _Capture) -> list[_Samples]:
        pcm = capture.deinterleaver.feed(data)
        if not len(pcm):
            return []
        native = pcm.astype(np.float32) / np.float32(32768.0)
        out = capture.resampler.process(native)
        if capture.checked:
            return [out] if len(out) else []
        capture.probe.append(native)
        capture.held.append(out)
        if sum(len(p) for p in capture.probe) >= _PROBE_S * capture.pcm.sample_rate:
            return self._release(capture)
        return []

    def _release(self, capture: _Capture) -> list[_Samples]:
        """Check the held audio once, then hand it over."""
        capture.checked = True
        probe = np.concatenate(capture.probe) if capture.probe else np.zeros(0, np.float32)
        if not looks_like_pcm16(probe):
            raise self._failed(
                "the call sent binary data that is not 16-bit PCM audio", "bad_audio"
            )
        held, capture.held, capture.probe = capture.held, [], []
        return [h for h in held if len(h)]

    def _drain(self, capture: _Capture) -> list[_Samples]:
        """Everything still held at the end of the stream (or of a format)."""
        early: list[_Samples] = []
        if capture.layout is None and capture.pending:
            self._settle(capture, final=True)
            early = self._decode(bytes(capture.pending), capture)
            capture.pending.clear()
        released = self._release(capture) if not capture.checked else []
        released = [*early, *released]
        tail = capture.resampler.flush()
        return [*released, tail] if len(tail) else released

    def _on_event(self, text: str, capture: _Capture) -> list[_Samples]:
        capture.events += 1
        try:
            event = json.loads(text)
        except ValueError:
            _log.debug("ignored a text message that is not JSON from %s", self.where)
            return []
        if not isinstance(event, dict) or event.get("type") != "start":
            return []
        pcm = self._announced(event)
        layout = ChannelLayout.STEREO if pcm.channels == 2 else ChannelLayout.MONO
        announced = ListenLayout(layout=layout, source=LayoutSource.ANNOUNCED, pcm=pcm)
        if capture.layout is None:
            # Bytes before the announcement are read as it says (VAPI sends it first).
            self._adopt(capture, announced)
            if not capture.pending:
                return []
            data = bytes(capture.pending)
            capture.pending.clear()
            return self._decode(data, capture)
        if pcm == capture.pcm:
            return []
        released = self._drain(capture) if capture.deinterleaver.frames else []
        self._adopt(capture, announced)
        return released

    def _announced(self, event: dict[str, Any]) -> PcmFormat:
        """The format a ``start`` event announces (unknown fields keep the configured value)."""
        encoding = str(event.get("encoding", "linear16")).lower()
        if encoding not in _PCM_ENCODINGS:
            raise self._failed(
                "the call announced an audio encoding other than 16-bit PCM", "bad_audio"
            )
        rate = _whole(event.get("sampleRate", self._pcm.sample_rate))
        channels = _whole(event.get("channels", self._pcm.channels))
        if rate is None or channels is None:
            raise self._failed("the call announced a malformed audio format", "bad_audio")
        if channels not in (1, 2):  # VAPI streams mono or customer/assistant stereo
            raise self._failed(
                f"the call announced {channels} audio channels; only 1 or 2 are supported",
                "bad_audio",
            )
        customer = self._pcm.customer_channel if self._pcm.customer_channel < channels else 0
        try:
            return PcmFormat(sample_rate=rate, channels=channels, customer_channel=customer)
        except ValueError as exc:
            raise self._failed(
                "the call announced an unsupported audio format", "bad_audio"
            ) from exc

    def _check_heard(self, capture: _Capture) -> None:
        """Raise the right error when the capture ended without any caller audio."""
        if capture.heard:
            return
        if capture.binary_bytes:
            raise self._failed(
                "the call sent binary data too short to hold a single PCM sample", "bad_audio"
            )
        if capture.events:
            raise self._failed("the call sent only events and no audio", "no_audio")
        if capture.timed_out:
            raise self._failed(
                f"no audio arrived from the call within {self._timeout_s:g} seconds", "timeout"
            )
        raise self._failed("the call's audio socket closed before any audio", "closed")

    def _failed(self, message: str, reason: str) -> CaptureError:
        _log.warning("capture from %s failed: %s (%s)", self.where, message, reason)
        return CaptureError(message, reason=reason)


class VapiListener:
    """Opens VAPI listen sockets; one per process, with one shared aiohttp session.

    Open it with :meth:`open` (or ``async with``) at start-up and close it at shutdown; make one
    :class:`VapiListenSource` per call with :meth:`source`.

    Args:
        public_key: The VAPI public key, sent as ``Authorization: Bearer`` (needed when the
            assistant has ``listenAuthenticationEnabled``).
        allowed_hosts: Domains whose hosts may be opened (``vapi.ai`` and its subdomains).
        allow_private_networks: Development and tests only: also ``ws://`` and local hosts.
        pcm: The stream's format when no ``start`` event announces one: its sample rate, and
            the customer channel of a stream recognised as stereo (the channel count itself
            is recognised from the first audio, and this one used only when that cannot tell).
        max_audio_s: Caller audio heard at most (``MAX_AUDIO_DURATION``).
        timeout_s: The whole capture, from connecting (``WEBSOCKET_TIMEOUT``).
        connect_timeout_s: Opening the socket.
        ssl_context: TLS settings (the system's trust store by default).
        resolver: The DNS resolver wrapped by the address guard (aiohttp's by default).
        on_layout: Told the layout of each call once it is known (for a metric).
    """

    def __init__(
        self,
        *,
        public_key: str | None = None,
        allowed_hosts: tuple[str, ...] = ("vapi.ai",),
        allow_private_networks: bool = False,
        pcm: PcmFormat | None = None,
        max_audio_s: float = 30.0,
        timeout_s: float = 65.0,
        connect_timeout_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        resolver: AbstractResolver | None = None,
        on_layout: Callable[[ListenLayout], None] | None = None,
    ) -> None:
        if max_audio_s <= 0 or timeout_s <= 0 or connect_timeout_s <= 0:
            raise ValueError("limits must be positive")
        self._public_key = public_key
        self._urls = ListenUrlPolicy(
            allowed_hosts=allowed_hosts, allow_private_networks=allow_private_networks
        )
        self._addresses = AddressPolicy(allow_private_networks=allow_private_networks)
        self._pcm = pcm or PcmFormat()
        self._max_audio_s = max_audio_s
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._ssl_context = ssl_context
        self._resolver = resolver
        self._on_layout = on_layout
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the shared session (idempotent)."""
        if self._session is not None:
            return
        if self._addresses.allow_private_networks:
            _log.warning(
                "VAPI listener relaxed: ws:// and local hosts are allowed "
                "(allow_private_networks is on; for development and tests only)"
            )
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self._addresses, self._resolver), use_dns_cache=False
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None, connect=self._connect_timeout_s, sock_connect=self._connect_timeout_s
            ),
            trust_env=False,
        )

    async def close(self) -> None:
        """Close the shared session (idempotent)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def source(
        self,
        listen_url: str,
        *,
        max_audio_s: float | None = None,
        timeout_s: float | None = None,
    ) -> VapiListenSource:
        """A source for the call at ``listen_url`` (nothing is opened until it is used).

        Args:
            listen_url: ``call.monitor.listenUrl``.
            max_audio_s: A lower cap for this call (a tool call's budget), if any.
            timeout_s: A lower time limit for this call, if any.

        Raises:
            InvalidInputError: The URL is not a wss:// URL on an allowed host.
        """
        if self._session is None:
            raise RuntimeError("VapiListener.open() was not called")
        url = self._urls.check(listen_url)
        return VapiListenSource(
            url,
            session=self._session,
            pcm=self._pcm,
            public_key=self._public_key,
            max_audio_s=min(max_audio_s or self._max_audio_s, self._max_audio_s),
            timeout_s=min(timeout_s or self._timeout_s, self._timeout_s),
            connect_timeout_s=self._connect_timeout_s,
            ssl_context=self._ssl_context,
            on_layout=self._on_layout,
        )
