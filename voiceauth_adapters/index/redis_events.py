"""Voiceprint changes told to every replica over Redis pub/sub (``REDIS_URL``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

from voiceauth_core.errors import InvalidInputError, StorageUnavailableError
from voiceauth_core.identity import UserId

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["CHANNEL", "RedisVoiceprintEvents"]

#: The pub/sub channel (per Redis database).
CHANNEL = "voiceauth:voiceprints"


class RedisVoiceprintEvents:
    """The ``VoiceprintEvents`` port over Redis pub/sub.

    Pub/sub keeps nothing for a subscriber that is away: after a lost connection the
    subscription is made again and None is yielded, so that the replica rebuilds its index
    from the store.

    Args:
        url: ``redis://host:port/db``.
        channel: The pub/sub channel.
        retry_s: The pause before subscribing again after a lost connection.
    """

    def __init__(self, url: str, *, channel: str = CHANNEL, retry_s: float = 1.0) -> None:
        from redis.asyncio import Redis  # noqa: PLC0415 - only with REDIS_URL

        self._redis: Redis = Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)
        self._listen: Redis = Redis.from_url(url, socket_connect_timeout=1.0)
        self._channel = channel
        self._retry_s = retry_s

    async def publish(self, user_id: UserId) -> None:
        """Publish the user id on the channel."""
        from redis.exceptions import RedisError  # noqa: PLC0415

        try:
            await self._redis.publish(self._channel, str(user_id.value))
        except (RedisError, OSError) as exc:
            raise StorageUnavailableError("the voiceprint events could not be published") from exc

    async def subscribe(self) -> AsyncGenerator[UserId | None, None]:
        """None once subscribed (and again after each reconnect), then each published user id."""
        from redis.exceptions import RedisError  # noqa: PLC0415

        while True:
            pubsub = self._listen.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                yield None
                async for message in pubsub.listen():
                    user_id = _user_id(message.get("data"))
                    if user_id is not None:
                        yield user_id
            except (RedisError, OSError):
                await asyncio.sleep(self._retry_s)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped

    async def close(self) -> None:
        """Close both connections."""
        await self._redis.aclose()
        await self._listen.aclose()


def _user_id(data: object) -> UserId | None:
    """The user id of a message, or None for anything else on the channel."""
    if not isinstance(data, bytes):
        return None
    try:
        return UserId.parse(data.decode("ascii", errors="replace"))
    except InvalidInputError:
        return None
