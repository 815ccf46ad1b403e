"""Test doubles for the downloader: a real local audio file server and a table DNS resolver.

``AudioFileServer`` is an aiohttp web server on 127.0.0.1 whose routes misbehave on request
(status codes, redirects, slow drip, lying ``Content-Length``, HTML, never answering), so the
downloader's and the service's end-to-end tests exercise real sockets. Nothing here runs at import.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

__all__ = ["AudioFileServer", "Route", "StaticResolver"]


@dataclass(slots=True, kw_only=True)
class Route:
    """How one path answers.

    Args:
        body: The body sent.
        content_type: The ``Content-Type`` header (None: none sent).
        status: The status code.
        redirect_to: Answer with ``status`` (302 unless set to another 3xx) and this ``Location``.
        declared_length: A ``Content-Length`` to claim (the true body is sent regardless).
        chunked: Send the body with chunked encoding (no ``Content-Length``).
        drip_bytes: Send the body this many bytes at a time, pausing ``drip_pause_s`` between.
        drip_pause_s: The pause between drips.
        hang: Accept the request and never answer.
    """

    body: bytes = b""
    content_type: str | None = "audio/wav"
    status: int = 200
    redirect_to: str | None = None
    declared_length: int | None = None
    chunked: bool = False
    drip_bytes: int | None = None
    drip_pause_s: float = 0.2
    hang: bool = False
    hits: int = field(default=0)


class AudioFileServer:
    """A local HTTP server for audio files, with knobs for every way a download goes wrong.

    Use it as an async context manager; :meth:`add` a route and fetch :meth:`url` of it::

        async with AudioFileServer() as server:
            url = server.add("/a.wav", Route(body=wav))

    Args:
        host: The address to listen on (loopback).
        ssl_context: Serve https with it (``voiceauth_adapters.vapi.testing.tls_contexts``).
    """

    def __init__(
        self, host: str = "127.0.0.1", *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._host = host
        self._ssl = ssl_context
        self._routes: dict[str, Route] = {}
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._hanging: set[asyncio.Event] = set()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http(s)://host:port``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{'https' if self._ssl else 'http'}://{host}:{self._port}"

    def url(self, path: str) -> str:
        """The full URL of ``path``."""
        return self.base_url + path

    def add(self, path: str, route: Route) -> str:
        """Serve ``route`` at ``path``; returns its URL."""
        self._routes[path] = route
        return self.url(path)

    def route(self, path: str) -> Route:
        """The route at ``path`` (to read its hit count)."""
        return self._routes[path]

    async def start(self) -> None:
        """Bind to a free port and serve."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((self._host, 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, ssl_context=self._ssl).start()

    async def stop(self) -> None:
        """Stop serving (releases hanging requests)."""
        for event in self._hanging:
            event.set()
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
        route = self._routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        route.hits += 1
        if route.hang:
            release = asyncio.Event()
            self._hanging.add(release)
            try:
                await release.wait()
            finally:
                self._hanging.discard(release)
            return web.Response(status=503)
        if route.redirect_to is not None:
            status = route.status if 300 <= route.status < 400 else 302
            return web.Response(status=status, headers={"Location": route.redirect_to})
        headers = {"Content-Type": route.content_type} if route.content_type else {}
        if not (route.chunked or route.drip_bytes or route.declared_length is not None):
            response = web.Response(status=route.status, body=route.body, headers=headers)
            if route.content_type is None:
                response.headers.popall("Content-Type", None)
            return response
        stream = web.StreamResponse(status=route.status, headers=headers)
        if route.declared_length is not None:
            stream.content_length = route.declared_length
        else:
            stream.enable_chunked_encoding()
        await stream.prepare(request)
        step = route.drip_bytes or len(route.body) or 1
        try:
            for start in range(0, len(route.body), step):
                await stream.write(route.body[start : start + step])
                if route.drip_bytes:
                    await asyncio.sleep(route.drip_pause_s)
            if route.declared_length is None:
                await stream.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the client gave up, as it should
        return stream


class StaticResolver(AbstractResolver):
    """Answers lookups from a table, e.g. ``{"files.example.com": ["10.0.0.7"]}``.

    Lets tests make a public-looking name resolve to a private address without real DNS.
    Unknown names fail like names that do not exist. ``lookups`` records every query.
    """

    def __init__(self, table: dict[str, Sequence[str]]) -> None:
        self._table = {name.lower(): list(addresses) for name, addresses in table.items()}
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The table's addresses for ``host``."""
        del family
        self.lookups.append(host)
        addresses = self._table.get(host.lower().rstrip("."))
        if not addresses:
            raise OSError(socket.EAI_NONAME, f"unknown host {host}")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        """Nothing to release."""
