"""The audio downloader: one shared aiohttp session, timeouts, a byte cap and the SSRF guard."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from voiceauth_adapters.http.guard import AddressPolicy, AddressRefusedError, GuardedResolver
from voiceauth_core.errors import AudioDownloadError

__all__ = ["Download", "HttpDownloader", "redacted"]

_log = logging.getLogger("voiceauth_adapters.http")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_READ_CHUNK = 64 * 1024
# Media types that are certainly not an audio file; anything else is left to the decoder.
_NOT_AUDIO_PREFIXES = ("text/", "image/", "font/", "multipart/")
_NOT_AUDIO_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/xhtml+xml",
        "application/javascript",
        "application/pdf",
        "application/problem+json",
    }
)
_HTML_STARTS = (b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")


def redacted(url: str | URL) -> str:
    """A loggable stand-in for a URL: its host and a short hash (URLs can carry secrets)."""
    parsed = url if isinstance(url, URL) else URL(url)
    digest = hashlib.sha256(str(url).encode()).hexdigest()[:12]
    return f"{parsed.host or '?'}#{digest}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Download:
    """A fetched file.

    Args:
        data: The body.
        content_type: The media type the server declared (without parameters), if any.
        url: The final URL after redirects.
    """

    data: bytes
    content_type: str | None
    url: str


class HttpDownloader:
    """Fetches audio files over HTTP(S) for enrolment, safely.

    One instance per process holds one ``aiohttp.ClientSession``: open it with :meth:`open` (or
    ``async with``) at start-up and close it at shutdown. Each fetch:

    * accepts only ``http``/``https`` URLs, and refuses a redirect from https to http;
    * refuses hosts that are, or resolve to, non-public addresses (see :class:`AddressPolicy`),
      for the first request and every redirect, and connects only to the vetted addresses;
    * follows at most ``max_redirects`` redirects, each re-checked;
    * gives up after ``connect_timeout_s`` to connect and ``timeout_s`` in all;
    * stops reading past ``max_bytes`` (a declared ``Content-Length`` over it is refused unread);
    * refuses bodies that are clearly not audio (HTML, JSON, text, images).

    Args:
        max_bytes: The largest body accepted.
        timeout_s: The whole fetch, redirects included.
        connect_timeout_s: Each connection attempt.
        max_redirects: Redirects followed before giving up.
        policy: Which addresses may be reached (public ones only by default).
        resolver: The DNS resolver wrapped by the guard (aiohttp's threaded one by default).
        ssl_context: TLS settings (the system's trust store by default).
        user_agent: Sent with every request.
    """

    def __init__(
        self,
        *,
        max_bytes: int = 20 * 1024 * 1024,
        timeout_s: float = 20.0,
        connect_timeout_s: float = 5.0,
        max_redirects: int = 3,
        policy: AddressPolicy | None = None,
        resolver: AbstractResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = "voiceauth/0.1 (+https://github.com/voiceauth)",
    ) -> None:
        if max_bytes <= 0 or timeout_s <= 0 or connect_timeout_s <= 0 or max_redirects < 0:
            raise ValueError("limits must be positive")
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._connect_timeout_s = min(connect_timeout_s, timeout_s)
        self._max_redirects = max_redirects
        self._policy = policy or AddressPolicy()
        self._resolver = resolver
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    @property
    def max_bytes(self) -> int:
        """The largest body accepted."""
        return self._max_bytes

    async def open(self) -> None:
        """Create the shared session (idempotent)."""
        if self._session is not None:
            return
        if self._policy.allow_private_networks:
            _log.warning(
                "SSRF guard relaxed: audio URLs may reach loopback and private networks "
                "(allow_private_networks is on; for development and tests only)"
            )
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self._policy, self._resolver),
            use_dns_cache=False,  # every new connection is resolved and vetted afresh
            ssl=self._ssl,
            limit=100,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=self._timeout_s,
                connect=self._connect_timeout_s,
                sock_connect=self._connect_timeout_s,
            ),
            headers={"User-Agent": self._user_agent, "Accept": "audio/*, */*;q=0.5"},
            trust_env=False,  # a proxy from the environment would bypass the address pinning
            auto_decompress=True,  # the byte cap counts decompressed bytes: no zip bombs
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

    async def fetch(self, url: str) -> Download:
        """Download the file at ``url``.

        Raises:
            AudioDownloadError: The URL is not allowed or the download failed; the message says
                why (status code, timeout, too large, not audio, refused address).
        """
        if self._session is None:
            raise RuntimeError("HttpDownloader.open() was not called")
        target = self._parse(url)
        _log.info("downloading audio from %s", redacted(target))
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._follow(self._session, target)
        except TimeoutError as exc:
            _log.info("download from %s timed out", redacted(target))
            raise AudioDownloadError(
                f"the audio download did not finish within {self._timeout_s:g} seconds"
            ) from exc

    @staticmethod
    def _parse(url: str) -> URL:
        try:
            parsed = URL(url.strip())
        except (ValueError, TypeError):  # the parser's message quotes the URL
            raise AudioDownloadError("the audio URL is not a valid URL") from None
        if parsed.scheme not in ("http", "https"):
            raise AudioDownloadError("only http and https audio URLs can be fetched")
        if not parsed.host:
            raise AudioDownloadError("the audio URL has no host")
        return parsed.with_fragment(None)

    async def _follow(self, session: aiohttp.ClientSession, url: URL) -> Download:
        for _hop in range(self._max_redirects + 1):
            assert url.host is not None
            try:
                self._policy.check_host(url.host)
                async with session.get(url, allow_redirects=False) as response:
                    if response.status in _REDIRECTS:
                        url = self._next_hop(url, response)
                        continue
                    return await self._read(url, response)
            except AddressRefusedError as exc:
                raise self._refused(url, exc) from None
            except aiohttp.ClientConnectorDNSError as exc:
                refused = exc.__cause__ or exc.os_error
                if isinstance(refused, AddressRefusedError):
                    raise self._refused(url, refused) from None
                raise AudioDownloadError("the audio URL's host name could not be resolved") from exc
            except aiohttp.ClientConnectorCertificateError as exc:
                raise AudioDownloadError("the audio URL's TLS certificate is not valid") from exc
            except aiohttp.ClientSSLError as exc:
                raise AudioDownloadError("the TLS handshake with the audio URL failed") from exc
            except aiohttp.ClientConnectorError as exc:
                raise AudioDownloadError("could not connect to the audio URL's server") from exc
            except aiohttp.ServerTimeoutError as exc:
                raise AudioDownloadError("the audio URL's server timed out") from exc
            except aiohttp.ClientPayloadError as exc:
                raise AudioDownloadError("the audio download was cut off") from exc
            except aiohttp.ClientError as exc:
                raise AudioDownloadError("the audio download failed") from exc
        raise AudioDownloadError(f"the audio URL redirected more than {self._max_redirects} times")

    @staticmethod
    def _refused(url: URL, exc: AddressRefusedError) -> AudioDownloadError:
        _log.warning("refused audio URL %s: %s address", redacted(url), exc.category)
        return AudioDownloadError("the audio URL points to an address that is not allowed")

    @staticmethod
    def _next_hop(url: URL, response: aiohttp.ClientResponse) -> URL:
        location = response.headers.get("Location")
        if not location:
            raise AudioDownloadError(
                f"the audio URL answered HTTP {response.status} with no target"
            )
        try:
            target = url.join(URL(location)).with_fragment(None)
        except ValueError:
            raise AudioDownloadError("the audio URL redirected to an invalid URL") from None
        if target.scheme not in ("http", "https") or not target.host:
            raise AudioDownloadError("the audio URL redirected to a URL that is not http(s)")
        if url.scheme == "https" and target.scheme == "http":
            raise AudioDownloadError("the audio URL redirected from https to plain http")
        _log.info("audio URL redirected to %s", redacted(target))
        return target

    async def _read(self, url: URL, response: aiohttp.ClientResponse) -> Download:
        if response.status != 200:
            raise AudioDownloadError(f"the audio URL answered HTTP {response.status}")
        content_type = response.headers.get("Content-Type")
        media_type = content_type.split(";", 1)[0].strip().lower() if content_type else None
        if media_type and (
            media_type in _NOT_AUDIO_TYPES or media_type.startswith(_NOT_AUDIO_PREFIXES)
        ):
            raise AudioDownloadError(f"the audio URL returned {media_type}, not audio")
        declared = response.content_length
        if declared is not None and declared > self._max_bytes:
            raise AudioDownloadError(self._too_large())
        body = bytearray()
        async for chunk in response.content.iter_chunked(_READ_CHUNK):
            body += chunk
            if len(body) > self._max_bytes:
                raise AudioDownloadError(self._too_large())
        if not body:
            raise AudioDownloadError("the audio URL returned an empty file")
        if bytes(body[:64]).lstrip().lower().startswith(_HTML_STARTS):
            raise AudioDownloadError("the audio URL returned a web page, not audio")
        return Download(data=bytes(body), content_type=media_type, url=str(url))

    def _too_large(self) -> str:
        return f"the audio file is larger than the limit of {self._max_bytes} bytes"
