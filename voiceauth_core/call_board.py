"""What replicas tell each other about the calls they hear, and the in-process board.

Behind a load balancer, the ``status-update`` that starts a call session and the ``tool-calls``
of the same call can reach different replicas. The replica that holds a call's session posts
its decisions on a ``DecisionBoard`` (``voiceauth_core.ports``); a replica asked about a call it
does not hold reads the decision there, or posts a ``CallAsk`` and waits for the ``CallAnswer``.
``InMemoryDecisionBoard`` is the board of a single replica (and the fake of the port); the
Redis adapter (``voiceauth_adapters.redis``) shares one between replicas.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from voiceauth_core.attempt import Decision

__all__ = ["CallAnswer", "CallAsk", "InMemoryDecisionBoard"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAsk:
    """A request to the replica holding a call: verify the caller against this account.

    Args:
        ask_id: Unique; the answer is posted under it.
        kind: ``verify``, or ``end`` (the call ended: close its session; no answer).
        user_id: The account's user id (text, as the tool gave it), if any.
        phone: The account's phone number (E.164), if no user id.
        budget_s: Seconds the asker waits for the answer.
    """

    ask_id: str
    kind: str = "verify"
    user_id: str | None = None
    phone: str | None = None
    budget_s: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswer:
    """A decision about a call, as the assistant is told it.

    Args:
        sentence: What the assistant is told.
        decision: The decision, or None when the check failed.
    """

    sentence: str
    decision: Decision | None = None


@dataclass(slots=True)
class _Call:
    holder: str
    expires: float
    asks: asyncio.Queue[CallAsk] = field(default_factory=asyncio.Queue)
    answers: dict[str, CallAnswer] = field(default_factory=dict)
    posted: asyncio.Condition = field(default_factory=asyncio.Condition)


class InMemoryDecisionBoard:
    """A ``DecisionBoard`` inside one process (one replica holds every call)."""

    def __init__(self) -> None:
        self._calls: dict[str, _Call] = {}

    def _live(self, call_id: str) -> _Call | None:
        call = self._calls.get(call_id)
        if call is not None and call.expires <= time.monotonic():
            del self._calls[call_id]
            return None
        return call

    async def hold(self, call_id: str, holder: str, *, ttl_s: float) -> str:
        call = self._live(call_id)
        if call is None:
            call = self._calls[call_id] = _Call(holder=holder, expires=0.0)
        if call.holder == holder:
            call.expires = time.monotonic() + ttl_s
        return call.holder

    async def holder(self, call_id: str) -> str | None:
        call = self._live(call_id)
        return None if call is None else call.holder

    async def release(self, call_id: str, holder: str) -> None:
        call = self._live(call_id)
        if call is not None and call.holder == holder:
            del self._calls[call_id]

    async def ask(self, call_id: str, ask: CallAsk) -> None:
        call = self._live(call_id)
        if call is not None:
            call.asks.put_nowait(ask)

    async def next_ask(self, call_id: str, *, timeout_s: float) -> CallAsk | None:
        call = self._live(call_id)
        if call is None:
            await asyncio.sleep(timeout_s)
            return None
        try:
            async with asyncio.timeout(timeout_s):
                return await call.asks.get()
        except TimeoutError:
            return None

    async def post(self, call_id: str, key: str, answer: CallAnswer) -> None:
        call = self._live(call_id)
        if call is None:
            return
        call.answers[key] = answer
        async with call.posted:
            call.posted.notify_all()

    async def read(self, call_id: str, key: str) -> CallAnswer | None:
        call = self._live(call_id)
        return None if call is None else call.answers.get(key)

    async def wait(self, call_id: str, key: str, *, timeout_s: float) -> CallAnswer | None:
        call = self._live(call_id)
        if call is None:
            return None
        try:
            async with asyncio.timeout(timeout_s), call.posted:
                await call.posted.wait_for(lambda: key in call.answers)
        except TimeoutError:
            return None
        return call.answers[key]

    async def close(self) -> None:
        self._calls.clear()
