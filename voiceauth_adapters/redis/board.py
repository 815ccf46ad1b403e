"""``RedisDecisionBoard``: the ``DecisionBoard`` of several replicas, in Redis.

Per call, under ``<prefix>:<call id>``: ``:holder`` (a string, set if absent, with the call's
time to live), ``:asks`` (a list the holder pops with ``BLPOP``), ``:answers`` (a hash of
answers by key) and ``:posted:<key>`` (a one-item list a waiter pops with ``BLPOP``). Every key
expires with the hold; :meth:`release` deletes them at once.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

import msgspec

from voiceauth_core.call_board import CallAnswer, CallAsk
from voiceauth_core.errors import StorageUnavailableError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisDecisionBoard"]

T = TypeVar("T")
_ASK = msgspec.json.Decoder(CallAsk)
_ANSWER = msgspec.json.Decoder(CallAnswer)
#: Waits are cut in slices this long, so that a blocked connection never outlives a socket
#: timeout and a cancelled wait returns its connection soon.
_SLICE_S = 1.0


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class RedisDecisionBoard:
    """The decision board in Redis at ``url``.

    Args:
        url: ``redis://host:port/db``.
        prefix: Prepended to every key.
        ttl_s: How long the answers of a call stay readable after the last post.

    Redis errors become :class:`~voiceauth_core.errors.StorageUnavailableError`.
    """

    def __init__(self, url: str, *, prefix: str = "voiceauth:call", ttl_s: float = 600.0) -> None:
        from redis.asyncio import Redis  # noqa: PLC0415 - only with REDIS_URL

        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=_SLICE_S + 2.0
        )
        self._prefix = prefix
        self._ttl = max(1, math.ceil(ttl_s))

    def _key(self, call_id: str, *parts: str) -> str:
        return ":".join((self._prefix, call_id, *parts))

    async def _run(self, operation: Awaitable[T]) -> T:
        from redis.exceptions import RedisError  # noqa: PLC0415

        try:
            return await operation
        except (RedisError, OSError) as exc:
            raise StorageUnavailableError(
                f"the decision board is unreachable ({type(exc).__name__})"
            ) from exc

    async def hold(self, call_id: str, holder: str, *, ttl_s: float) -> str:
        key, ttl = self._key(call_id, "holder"), max(1, math.ceil(ttl_s))
        for _ in range(3):  # the key may expire between the two commands
            if await self._run(self._redis.set(key, holder, nx=True, ex=ttl)):
                return holder
            current = _text(await self._run(self._redis.get(key)))
            if current is None:
                continue
            if current == holder:
                await self._run(self._redis.expire(key, ttl))
            return current
        return holder

    async def holder(self, call_id: str) -> str | None:
        return _text(await self._run(self._redis.get(self._key(call_id, "holder"))))

    async def release(self, call_id: str, holder: str) -> None:
        if await self.holder(call_id) != holder:
            return
        await self._run(
            self._redis.delete(
                self._key(call_id, "holder"),
                self._key(call_id, "asks"),
                self._key(call_id, "answers"),
            )
        )

    async def ask(self, call_id: str, ask: CallAsk) -> None:
        if await self.holder(call_id) is None:
            return
        key = self._key(call_id, "asks")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, msgspec.json.encode(ask))
            pipe.expire(key, self._ttl)
            await self._run(pipe.execute())

    async def next_ask(self, call_id: str, *, timeout_s: float) -> CallAsk | None:
        found = await self._pop(self._key(call_id, "asks"), timeout_s)
        return None if found is None else _ASK.decode(found)

    async def post(self, call_id: str, key: str, answer: CallAnswer) -> None:
        answers, posted = self._key(call_id, "answers"), self._key(call_id, "posted", key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(answers, key, msgspec.json.encode(answer))
            pipe.expire(answers, self._ttl)
            pipe.delete(posted)
            pipe.rpush(posted, b"1")
            pipe.expire(posted, self._ttl)
            await self._run(pipe.execute())

    async def read(self, call_id: str, key: str) -> CallAnswer | None:
        found = await self._run(self._redis.hget(self._key(call_id, "answers"), key))
        return None if found is None else _ANSWER.decode(found)

    async def wait(self, call_id: str, key: str, *, timeout_s: float) -> CallAnswer | None:
        found = await self.read(call_id, key)
        if found is not None:
            return found
        if await self._pop(self._key(call_id, "posted", key), timeout_s) is None:
            return None
        return await self.read(call_id, key)

    async def _pop(self, key: str, timeout_s: float) -> bytes | None:
        """``BLPOP`` in slices of at most ``_SLICE_S`` until ``timeout_s`` has passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return None
            # BLPOP's timeout 0 means forever: never ask for less than a millisecond.
            found = await self._run(
                self._redis.blpop([key], timeout=max(0.001, min(left, _SLICE_S)))
            )
            if found is not None:
                value = found[1]
                return value.encode() if isinstance(value, str) else bytes(value)

    async def close(self) -> None:
        await self._redis.aclose()
