"""The contract every VoiceprintEvents passes: in-memory, Redis pub/sub, Postgres LISTEN/NOTIFY.

Subclass :class:`VoiceprintEventsContract` and provide an ``events`` fixture (a factory of
publishers/subscribers over one channel: call it twice for two replicas).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing

from voiceauth_core import UserId
from voiceauth_core.ports import VoiceprintEvents

Replicas = Callable[[], VoiceprintEvents]


async def _next(stream: object) -> UserId | None:
    return await asyncio.wait_for(stream.__anext__(), timeout=5.0)  # type: ignore[attr-defined]


class VoiceprintEventsContract:
    async def test_a_subscriber_first_hears_none_then_every_id_in_order(
        self, events: Replicas
    ) -> None:
        publisher, listener = events(), events()
        users = [UserId.new() for _ in range(3)]
        async with aclosing(listener.subscribe()) as stream:
            assert await _next(stream) is None
            for user in users:
                await publisher.publish(user)
            assert [await _next(stream) for _ in users] == users

    async def test_every_subscriber_hears_the_publisher_itself_included(
        self, events: Replicas
    ) -> None:
        one, two = events(), events()
        user = UserId.new()
        async with aclosing(one.subscribe()) as first, aclosing(two.subscribe()) as second:
            assert await _next(first) is None
            assert await _next(second) is None
            await one.publish(user)
            assert await _next(first) == user
            assert await _next(second) == user

    async def test_ids_published_before_subscribing_are_not_heard(self, events: Replicas) -> None:
        publisher, listener = events(), events()
        early, late = UserId.new(), UserId.new()
        await publisher.publish(early)
        async with aclosing(listener.subscribe()) as stream:
            assert await _next(stream) is None
            await publisher.publish(late)
            assert await _next(stream) == late
