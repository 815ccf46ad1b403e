"""Spans and metrics around the ports, added by the container; the core stays unaware of them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable
from datetime import datetime
from typing import TypeVar

from opentelemetry import trace

from voiceauth_core.attempt import Attempt
from voiceauth_core.audio import Audio
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment, EnrollmentSample
from voiceauth_core.errors import StorageUnavailableError
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.paging import Page
from voiceauth_core.ports import AttemptLog, AudioSource, EmbeddingModel, UserRepository
from voiceauth_web.observability import Metrics, traced

__all__ = ["InstrumentedAttempts", "InstrumentedModel", "InstrumentedSource", "InstrumentedUsers"]

_tracer = trace.get_tracer("voiceauth")
T = TypeVar("T")


class InstrumentedModel:
    """An embedding model whose calls are spans (``embedding``) and timed (inference seconds)."""

    def __init__(self, model: EmbeddingModel, metrics: Metrics) -> None:
        self.inner = model
        self._embed = traced("embedding", model.embed, seconds=metrics.inference)

    @property
    def model_id(self) -> str:
        """The wrapped model's id."""
        return self.inner.model_id

    async def embed(self, audio: Audio) -> Embedding:
        """The wrapped model's embedding."""
        return await self._embed(audio)


class InstrumentedSource:
    """An audio source whose fetch is a ``download`` span and whose stream is a ``capture`` span."""

    def __init__(self, source: AudioSource) -> None:
        self.inner = source

    @property
    def channel(self) -> str:
        """The wrapped source's channel."""
        return self.inner.channel

    @property
    def live(self) -> bool:
        """Whether the wrapped source is live."""
        return self.inner.live

    async def fetch(self) -> Audio:
        """The wrapped source's recording."""
        with _tracer.start_as_current_span("download" if not self.live else "capture"):
            return await self.inner.fetch()

    async def stream(self) -> AsyncGenerator[Audio, None]:
        """The wrapped source's chunks; the span ends when the stream does."""
        span = _tracer.start_span("capture")
        stream = self.inner.stream()
        try:
            async for chunk in stream:
                yield chunk
        finally:
            await stream.aclose()
            span.end()


async def _database(metrics: Metrics, name: str, call: Awaitable[T]) -> T:
    """Await a store call inside a span; count it when the database is unavailable."""
    with _tracer.start_as_current_span(name):
        try:
            return await call
        except StorageUnavailableError:
            metrics.database_errors.inc()
            raise


class InstrumentedUsers:
    """The enrolment store, each call a ``database`` span; outages counted."""

    def __init__(self, users: UserRepository, metrics: Metrics) -> None:
        self.inner = users
        self._metrics = metrics

    async def get(self, user_id: UserId) -> Enrollment | None:
        """See ``UserRepository.get``."""
        return await _database(self._metrics, "database.users.get", self.inner.get(user_id))

    async def find_by_phone(self, phone: PhoneNumber) -> Enrollment | None:
        """See ``UserRepository.find_by_phone``."""
        return await _database(
            self._metrics, "database.users.find_by_phone", self.inner.find_by_phone(phone)
        )

    async def save_sample(
        self,
        user_id: UserId,
        phone: PhoneNumber | None,
        sample: EnrollmentSample,
        *,
        now: datetime,
        replace: bool,
    ) -> Enrollment:
        """See ``UserRepository.save_sample``."""
        return await _database(
            self._metrics,
            "database.users.save_sample",
            self.inner.save_sample(user_id, phone, sample, now=now, replace=replace),
        )

    async def list(self, *, limit: int, cursor: str | None = None) -> Page[Enrollment]:
        """See ``UserRepository.list``."""
        return await _database(
            self._metrics, "database.users.list", self.inner.list(limit=limit, cursor=cursor)
        )

    async def delete(self, user_id: UserId) -> bool:
        """See ``UserRepository.delete``."""
        return await _database(self._metrics, "database.users.delete", self.inner.delete(user_id))


class InstrumentedAttempts:
    """The attempt log, each call a ``database`` span; outages counted."""

    def __init__(self, attempts: AttemptLog, metrics: Metrics) -> None:
        self.inner = attempts
        self._metrics = metrics

    async def append(self, attempt: Attempt) -> None:
        """See ``AttemptLog.append``."""
        await _database(self._metrics, "database.attempts.append", self.inner.append(attempt))

    async def history(
        self, user_id: UserId, *, limit: int, cursor: str | None = None
    ) -> Page[Attempt]:
        """See ``AttemptLog.history``."""
        return await _database(
            self._metrics,
            "database.attempts.history",
            self.inner.history(user_id, limit=limit, cursor=cursor),
        )

    async def recent(
        self, *, limit: int, cursor: str | None = None, since: datetime | None = None
    ) -> Page[Attempt]:
        """See ``AttemptLog.recent``."""
        return await _database(
            self._metrics,
            "database.attempts.recent",
            self.inner.recent(limit=limit, cursor=cursor, since=since),
        )

    async def get(self, attempt_id: uuid.UUID, *, now: datetime) -> Attempt | None:
        """See ``AttemptLog.get``."""
        return await _database(
            self._metrics, "database.attempts.get", self.inner.get(attempt_id, now=now)
        )
