"""ASGI middleware: request context (correlation id, logs, metrics, span, headers) and access."""

from __future__ import annotations

import time
from typing import Any, cast

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from loguru import logger
from opentelemetry import trace

from voiceauth_web.correlation import HEADER, new_correlation_id, set_correlation_id
from voiceauth_web.error_responses import error_response
from voiceauth_web.observability import Metrics
from voiceauth_web.security import ClientAddress, KeyChecker, RateLimiter

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
TOOL_CALLS_PATH = "/api/v1/vapi/tool-calls"


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


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
    """API keys on ``/api/v1`` (health excepted) and ``/metrics``, the VAPI secret on the
    tool-calls route, and the per-client rate limit (``/metrics`` excepted)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: KeyChecker,
        tool_secret: KeyChecker,
        limiter: RateLimiter | None,
        clients: ClientAddress,
    ) -> None:
        self._app = app
        self._keys = keys
        self._tool_secret = tool_secret
        self._limiter = limiter
        self._clients = clients

    async def __call__(self, asgi_scope: Scope, receive: Receive, send: Send) -> None:
        scope = cast("dict[str, Any]", asgi_scope)
        path = scope.get("path", "")
        metrics = scope["type"] == "http" and _route_of(scope) == _METRICS_ROUTE
        api = path.startswith("/api/") and not path.startswith(_OPEN)
        if scope["type"] != "http" or not (metrics or api):
            await self._app(asgi_scope, receive, send)
            return
        refusal = self._refusal(scope, path)
        if refusal is None and self._limiter is not None and not metrics:
            peer = (scope.get("client") or ("unknown", 0))[0]
            client = self._clients.of(peer, _header(scope, b"x-forwarded-for"))
            if not await self._limiter.allow(client):
                refusal = (429, "RateLimitExceeded", "too many requests; retry in a minute")
        if refusal is not None:
            await _send_error(send, *refusal)
            return
        await self._app(asgi_scope, receive, send)

    def _refusal(self, scope: dict[str, Any], path: str) -> tuple[int, str, str] | None:
        if path == TOOL_CALLS_PATH:
            if not self._tool_secret.enabled:
                return (403, "PermissionDenied", "VAPI tool calls are off: set VAPI_TOOL_SECRET")
            if not self._tool_secret.accepts(_header(scope, b"x-vapi-secret")):
                return (401, "AuthenticationError", "missing or wrong X-Vapi-Secret header")
            return None
        if not self._keys.enabled:
            return None  # no keys: only allowed on loopback (Settings.check refuses otherwise)
        presented = _header(scope, b"x-api-key")
        authorization = _header(scope, b"authorization")
        if presented is None and authorization and authorization.lower().startswith("bearer "):
            presented = authorization[7:].strip()
        if not self._keys.accepts(presented):
            return (401, "AuthenticationError", "missing or invalid API key")
        return None


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
