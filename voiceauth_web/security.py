"""API keys, VAPI's credentials, rate limiting, client addresses behind trusted proxies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from loguru import logger

__all__ = [
    "ClientAddress",
    "HmacSignature",
    "InMemoryRateLimiter",
    "KeyChecker",
    "RateLimiter",
    "RedisRateLimiter",
    "VapiAuthError",
    "VapiAuthenticator",
    "VapiCredential",
]

_WINDOW_S = 60


class KeyChecker:
    """Compares a presented secret with the configured ones in constant time.

    Every configured key is compared, match or not, so the time taken does not tell which
    key (or how much of one) was right.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = tuple(key.encode() for key in keys)

    @property
    def enabled(self) -> bool:
        """Whether any key is configured."""
        return bool(self._keys)

    def accepts(self, presented: str | None) -> bool:
        """True if ``presented`` equals one of the keys."""
        if presented is None:
            return False
        candidate = presented.encode()
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(candidate, key)
        return matched


def _fingerprint(secret: bytes) -> str:
    """A short, stable id of a secret, safe to log and to key limits by (not reversible)."""
    return hashlib.sha256(b"voiceauth/vapi-credential\x00" + secret).hexdigest()[:16]


@dataclass(frozen=True, slots=True, kw_only=True)
class VapiCredential:
    """The credential a VAPI request proved it holds.

    Args:
        kind: ``x-vapi-secret``, ``bearer`` or ``hmac``.
        key_id: A fingerprint of the secret (never the secret).
    """

    kind: str
    key_id: str

    @property
    def rate_key(self) -> str:
        """What the rate limit counts this credential's requests under."""
        return f"vapi:{self.kind}:{self.key_id}"


class VapiAuthError(Exception):
    """A VAPI request did not prove a credential; the message is safe to send back.

    Raised and caught inside the web shell's access control only: it never reaches a handler.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HmacSignature:
    """Checks VAPI's HMAC credential: a signature of ``{timestamp}.{body}``.

    VAPI's ``HMACAuthenticationPlan`` sends the signature in ``x-signature`` and the time it
    signed at in ``x-timestamp`` (both names configurable there and here), signs
    ``{timestamp}.{body}`` by default, hex-encoded (or base64), with an optional prefix such
    as ``sha256=``. The timestamp is required and must lie within ``tolerance_s`` of now,
    so a captured request cannot be replayed later; it may be in seconds or milliseconds.

    Args:
        secret: The HMAC secret key (``VAPI_HMAC_SECRET``).
        algorithm: ``sha256`` (VAPI's default), ``sha512`` or ``sha1``.
        signature_header: Where the signature is (lower case).
        timestamp_header: Where the timestamp is (lower case).
        tolerance_s: How far the timestamp may be from now, either way.
    """

    def __init__(
        self,
        secret: str,
        *,
        algorithm: str = "sha256",
        signature_header: str = "x-signature",
        timestamp_header: str = "x-timestamp",
        tolerance_s: float = 300.0,
    ) -> None:
        if algorithm not in ("sha256", "sha512", "sha1"):
            raise ValueError(f"unsupported HMAC algorithm {algorithm!r}")
        self._secret = secret.encode()
        self._algorithm = algorithm
        self.signature_header = signature_header.lower()
        self.timestamp_header = timestamp_header.lower()
        self._tolerance_s = tolerance_s
        self.key_id = _fingerprint(self._secret)

    def sign(self, body: bytes, timestamp: str) -> str:
        """The hex signature VAPI sends for ``body`` at ``timestamp`` (tests and tools)."""
        message = timestamp.encode() + b"." + body
        return hmac.new(self._secret, message, self._algorithm).hexdigest()

    def check(self, signature: str, timestamp: str | None, body: bytes, *, now: float) -> None:
        """Accept the signature or raise.

        Raises:
            VapiAuthError: No timestamp, one outside the tolerance, or a wrong signature.
        """
        if timestamp is None:
            raise VapiAuthError(
                f"the HMAC signature needs its {self.timestamp_header} header "
                "(keep includeTimestamp on in VAPI's HMAC credential)"
            )
        stamp = timestamp.strip()
        if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 16:
            raise VapiAuthError(f"the {self.timestamp_header} header is not a Unix time")
        seconds = int(stamp) / (1000 if len(stamp) >= 12 else 1)  # milliseconds from 2001 on
        if abs(now - seconds) > self._tolerance_s:
            raise VapiAuthError(
                f"the HMAC signature's timestamp is more than {self._tolerance_s:g} s from now "
                "(a replayed request, or a clock out of sync)"
            )
        digest = hmac.new(self._secret, stamp.encode() + b"." + body, self._algorithm).digest()
        presented = signature.strip()
        prefix = f"{self._algorithm}="
        if presented.lower().startswith(prefix):
            presented = presented[len(prefix) :]
        # Both encodings VAPI offers, compared in constant time; both always run.
        as_hex = hmac.compare_digest(presented.lower().encode(), digest.hex().encode())
        as_base64 = hmac.compare_digest(presented.encode(), base64.b64encode(digest))
        if not (as_hex | as_base64):
            raise VapiAuthError("wrong HMAC signature")


class VapiAuthenticator:
    """Which of VAPI's credentials a request carries, each checked in constant time.

    VAPI authenticates to a server URL with a credential (``server.credentialId``): a bearer
    token sent as ``Authorization: Bearer <token>`` or in a header of your choice (its legacy
    form, and the old inline ``secret``, is ``X-Vapi-Secret: <token>``), or an HMAC signature.
    A request must carry at least one, and every one it carries must be right.

    Args:
        secrets: Accepted tokens (``VAPI_TOOL_SECRET``), in either header.
        signature: The HMAC credential's check (``VAPI_HMAC_SECRET``), if configured.
    """

    def __init__(self, secrets: Iterable[str], signature: HmacSignature | None = None) -> None:
        self._secrets = tuple(secret.encode() for secret in secrets if secret)
        self._ids = tuple(_fingerprint(secret) for secret in self._secrets)
        self._signature = signature

    @property
    def enabled(self) -> bool:
        """Whether any credential is configured (without one, VAPI routes are off)."""
        return bool(self._secrets) or self._signature is not None

    @property
    def signature_header(self) -> str | None:
        """The header whose presence means the body must be read and its signature checked."""
        return self._signature.signature_header if self._signature is not None else None

    def _token(self, kind: str, presented: str) -> VapiCredential:
        candidate = presented.encode()
        matched = -1
        for index, secret in enumerate(self._secrets):  # every one compared, match or not
            if hmac.compare_digest(candidate, secret):
                matched = index
        if matched < 0:
            header = "X-Vapi-Secret header" if kind == "x-vapi-secret" else "bearer token"
            raise VapiAuthError(f"wrong VAPI {header}")
        return VapiCredential(kind=kind, key_id=self._ids[matched])

    def authenticate(
        self, headers: Mapping[str, str], body: bytes | None, *, now: float
    ) -> VapiCredential:
        """The credential the request proves.

        Args:
            headers: The request's headers, names in lower case.
            body: The raw body; needed (not None) when a signature header is present.
            now: Unix time, for the signature's timestamp.

        Raises:
            VapiAuthError: No credential, or a wrong one.
        """
        proven: list[VapiCredential] = []
        secret = headers.get("x-vapi-secret")
        if secret is not None:
            proven.append(self._token("x-vapi-secret", secret))
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise VapiAuthError("the Authorization header must be 'Bearer <token>'")
            proven.append(self._token("bearer", token.strip()))
        signed = self._signature
        if signed is not None and signed.signature_header in headers:
            if body is None:
                raise VapiAuthError("the signed body could not be read")
            signed.check(
                headers[signed.signature_header],
                headers.get(signed.timestamp_header),
                body,
                now=now,
            )
            proven.append(VapiCredential(kind="hmac", key_id=signed.key_id))
        if not proven:
            raise VapiAuthError(
                "missing VAPI credential: send X-Vapi-Secret, Authorization: Bearer, or an "
                "HMAC signature, as configured in the VAPI credential of this server URL"
            )
        return proven[-1]  # the strongest proven: HMAC, then bearer, then X-Vapi-Secret


class ClientAddress:
    """The client's address: ``X-Forwarded-For`` is believed only from trusted proxies.

    Args:
        trusted: Proxy addresses or networks (``TRUSTED_PROXIES``), e.g. ``10.0.0.0/8``.
    """

    def __init__(self, trusted: Iterable[str]) -> None:
        self._trusted = tuple(ipaddress.ip_network(item, strict=False) for item in trusted)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def of(self, peer: str, forwarded_for: str | None) -> str:
        """The right-most address of the chain that is not a trusted proxy."""
        if not forwarded_for or not self._is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                return hop
        return hops[0] if hops else peer


class RateLimiter(Protocol):
    """Counts a client's requests in the current minute."""

    async def allow(self, client: str) -> bool:
        """Count one request; False once the client is over the limit."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class InMemoryRateLimiter:
    """A fixed one-minute window per client, in this process only (one replica)."""

    def __init__(self, per_minute: int) -> None:
        self._limit = per_minute
        self._counts: dict[str, tuple[int, int]] = {}

    async def allow(self, client: str) -> bool:
        """Count one request of ``client``."""
        window = int(time.time()) // _WINDOW_S
        seen_window, count = self._counts.get(client, (window, 0))
        count = count + 1 if seen_window == window else 1
        self._counts[client] = (window, count)
        if len(self._counts) > 100_000:  # forget old windows rather than grow without bound
            self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
        return count <= self._limit

    async def close(self) -> None:
        """Nothing to release."""


class RedisRateLimiter:
    """The same window shared by every replica through Redis (``REDIS_URL``).

    If Redis cannot be reached the request is allowed and a warning logged: an outage of the
    limiter must not take the service down with it.
    """

    def __init__(self, url: str, per_minute: int, *, prefix: str = "voiceauth:ratelimit") -> None:
        from redis.asyncio import Redis  # noqa: PLC0415 - only with REDIS_URL

        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._limit = per_minute
        self._prefix = prefix

    async def allow(self, client: str) -> bool:
        """Count one request of ``client`` in Redis."""
        from redis.exceptions import RedisError  # noqa: PLC0415

        window = int(time.time()) // _WINDOW_S
        key = f"{self._prefix}:{window}:{client}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, _WINDOW_S * 2)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            logger.warning("rate limiter unavailable ({}); request allowed", type(exc).__name__)
            return True
        return int(count) <= self._limit

    async def close(self) -> None:
        """Close the Redis connections."""
        await self._redis.aclose()
