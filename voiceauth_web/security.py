"""API keys, the VAPI tool secret, rate limiting, client addresses behind trusted proxies."""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterable
from typing import Protocol

from loguru import logger

__all__ = [
    "ClientAddress",
    "InMemoryRateLimiter",
    "KeyChecker",
    "RateLimiter",
    "RedisRateLimiter",
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
