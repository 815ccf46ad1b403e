"""ASGI middleware: request context (correlation id, logs, metrics, span, headers) and access."""

from __future__ import annotations

import time
from typing import Any, cast

import msgspec
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
from loguru import logger
from opentelemetry import trace

from voiceauth_web.correlation import HEADER, new_correlation_id, set_correlation_id
from voiceauth_web.error_responses import error_response
from voiceauth_web.observability import Metrics
from voiceauth_web.security import (
    ClientAddress,
    KeyChecker,
    RateLimiter,
    VapiAuthenticator,
    VapiAuthError,
)

__all__ = ["AccessControl", "RequestContext"]

_tracer = trace.get_tracer("voiceauth")
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
]
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_NO_STORE = (b"cache-control", b"no-store")
# Paths reached without an API key: liveness, readiness, the API's documentation.
_OPEN = ("/healthz", "/api/v1/health", "/schema", "/docs")
# Needs the API key when keys are set (Prometheus sends it), but is never rate limited: a
# scrape refused at a busy minute would blind the monitoring exactly then. Matched by route, so
# ``/metrics/`` is guarded too.
_METRICS_ROUTE = "/metrics"
#: Every route VAPI calls: its credentials instead of API keys, limited per credential.
VAPI_PREFIX = "/api/v1/vapi/"
_Refusal = tuple[int, str, str]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    """The request's headers by lower-case name (the first of repeated ones)."""
    headers: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        headers.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when it is over ``limit`` or the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app, then listens on."""
    sent = False

    async def replayed() -> ReceiveMessage:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        message: Any = {"type": "http.request", "body": body, "more_body": False}
        return cast("ReceiveMessage", message)

    return replayed


def _route_of(scope: dict[str, Any]) -> str:
    handler = scope.get("route_handler")
    paths = getattr(handler, "paths", None)
    return str(sorted(paths)[0]) if paths else "unmatched"


class RequestContext:
    """Gives each request a correlation id (``X-Call-ID`` or new), echoed in the response; logs
    one line per request; observes the request metrics; adds the security headers."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, asgi_scope: Scope, receive: Receive, send: Send) -> None:
        scope = cast("dict[str, Any]", asgi_scope)
        if scope["type"] != "http":
            await self._app(asgi_scope, receive, send)
            return
        cid = new_correlation_id(_header(scope, HEADER.encode()))
        token = set_correlation_id(cid)
        path = scope["path"]
        status = 500
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((HEADER.encode(), cid.encode()))
                headers.extend(_SECURITY_HEADERS)
                if path.startswith("/api/"):
                    headers.extend((_API_CSP, _NO_STORE))
                message["headers"] = headers
            await send(message)

        try:
            with (
                logger.contextualize(correlation_id=cid),
                _tracer.start_as_current_span(f"{scope['method']} {path}"),
            ):
                await self._app(asgi_scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            self._metrics.requests.labels(route, scope["method"], str(status)).inc()
            self._metrics.latency.labels(route, scope["method"]).observe(elapsed)
            logger.bind(
                correlation_id=cid,
                method=scope["method"],
                route=route,
                status=status,
                ms=round(elapsed * 1000, 1),
            ).info("request")
            set_correlation_id("")
            del token


class AccessControl:
    """API keys on ``/api/v1`` (health excepted) and ``/metrics``; VAPI's credentials on every
    route under ``/api/v1/vapi/``; the rate limit (``/metrics`` excepted): per client address,
    but per proven credential on VAPI's routes (VAPI calls from a few shared addresses, so
    one call centre's traffic must not starve another's). Failed VAPI attempts are limited per
    address, so guessing the secret is slow."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: KeyChecker,
        vapi: VapiAuthenticator,
        limiter: RateLimiter | None,
        clients: ClientAddress,
        max_body: int = 16 * 1024 * 1024,
    ) -> None:
        self._app = app
        self._keys = keys
        self._vapi = vapi
        self._limiter = limiter
        self._clients = clients
        self._max_body = max_body

    async def __call__(self, asgi_scope: Scope, receive: Receive, send: Send) -> None:
        scope = cast("dict[str, Any]", asgi_scope)
        path = scope.get("path", "")
        metrics = scope["type"] == "http" and _route_of(scope) == _METRICS_ROUTE
        api = path.startswith("/api/") and not path.startswith(_OPEN)
        if scope["type"] != "http" or not (metrics or api):
            await self._app(asgi_scope, receive, send)
            return
        # By path and by the route matched, so no spelling of the path reaches VAPI's handlers
        # without VAPI's credentials.
        if path.startswith(VAPI_PREFIX) or _route_of(scope).startswith(VAPI_PREFIX):
            await self._vapi_request(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None and not metrics and not await self._allow(self._client(scope)):
            refusal = _TOO_MANY
        if refusal is not None:
            await _send_error(send, *refusal)
            return
        await self._app(asgi_scope, receive, send)

    def _client(self, scope: dict[str, Any]) -> str:
        peer = (scope.get("client") or ("unknown", 0))[0]
        return self._clients.of(peer, _header(scope, b"x-forwarded-for"))

    async def _allow(self, key: str) -> bool:
        return self._limiter is None or await self._limiter.allow(key)

    async def _vapi_request(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """VAPI's credentials, then the limit of the credential proven."""
        if not self._vapi.enabled:
            await _send_error(
                send,
                403,
                "PermissionDenied",
                "VAPI routes are off: set VAPI_TOOL_SECRET or VAPI_HMAC_SECRET",
            )
            return
        headers = _headers(scope)
        body: bytes | None = None
        signature_header = self._vapi.signature_header
        if signature_header is not None and signature_header in headers:
            body = await _read_body(receive, self._max_body)
            if body is None:
                await _send_error(
                    send, 413, "InvalidInputError", "the signed request body is too large"
                )
                return
            receive = _replay(body, receive)
        try:
            credential = self._vapi.authenticate(headers, body, now=time.time())
        except VapiAuthError as exc:
            # Failed attempts count against the address, so a secret cannot be guessed fast.
            allowed = await self._allow(f"vapi-refused:{self._client(scope)}")
            await _send_error(
                send, *((401, "AuthenticationError", exc.message) if allowed else _TOO_MANY)
            )
            return
        if not await self._allow(credential.rate_key):
            await _send_error(send, *_TOO_MANY)
            return
        await self._app(cast("Scope", scope), receive, send)

    def _refusal(self, scope: dict[str, Any]) -> _Refusal | None:
        if not self._keys.enabled:
            return None  # no keys: only allowed on loopback (Settings.check refuses otherwise)
        presented = _header(scope, b"x-api-key")
        authorization = _header(scope, b"authorization")
        if presented is None and authorization and authorization.lower().startswith("bearer "):
            presented = authorization[7:].strip()
        if not self._keys.accepts(presented):
            return (401, "AuthenticationError", "missing or invalid API key")
        return None


_TOO_MANY: _Refusal = (429, "RateLimitExceeded", "too many requests; retry in a minute")


async def _send_error(send: Send, status: int, name: str, message: str) -> None:
    response = error_response(status, name, message)
    body = msgspec.json.encode(response.content)
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="voiceauth"'))
    if status == 429:
        headers.append((b"retry-after", b"60"))
    start: Any = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    body_event: Any = {"type": "http.response.body", "body": body}
    await send(body_event)
