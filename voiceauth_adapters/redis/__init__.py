"""Redis: the decision board replicas share (``REDIS_URL``)."""

from voiceauth_adapters.redis.board import RedisDecisionBoard

__all__ = ["RedisDecisionBoard"]
