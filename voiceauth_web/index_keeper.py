"""The replica's voiceprint index kept current: on its own enrolments and erasures, and others'.

``IndexedUsers`` wraps the enrolment store: after a sample is saved or a user erased it updates
the index and publishes the user id (``VoiceprintEvents``, Redis with ``REDIS_URL``).
``IndexKeeper`` listens: for each id it reads the enrolment from the store (the source of truth)
and puts or removes the voiceprint; on subscribing, and after any gap, it re-syncs the whole
index from the store. ``GuardedIndex`` refuses searches until the first fill.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from contextlib import aclosing
from datetime import datetime

from loguru import logger

from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment, EnrollmentSample
from voiceauth_core.errors import StorageUnavailableError, VoiceAuthError
from voiceauth_core.identification import IndexHit
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.paging import Page
from voiceauth_core.ports import UserRepository, VoiceprintEvents, VoiceprintIndex
from voiceauth_core.use_cases import sync_index

__all__ = ["GuardedIndex", "IndexKeeper", "IndexedUsers"]


class IndexedUsers:
    """The enrolment store, keeping this replica's index current and telling the others.

    A failure to publish is logged, not raised: the enrolment or erasure itself was made, and
    other replicas catch up at their next re-sync.

    Args:
        users: The store.
        index: This replica's index.
        events: Where other replicas hear of changes; None for a single replica.
    """

    def __init__(
        self, users: UserRepository, index: VoiceprintIndex, events: VoiceprintEvents | None
    ) -> None:
        self.inner = users
        self._index = index
        self._events = events

    async def get(self, user_id: UserId) -> Enrollment | None:
        """See ``UserRepository.get``."""
        return await self.inner.get(user_id)

    async def find_by_phone(self, phone: PhoneNumber) -> Enrollment | None:
        """See ``UserRepository.find_by_phone``."""
        return await self.inner.find_by_phone(phone)

    async def save_sample(
        self,
        user_id: UserId,
        phone: PhoneNumber | None,
        sample: EnrollmentSample,
        *,
        now: datetime,
        replace: bool,
    ) -> Enrollment:
        """See ``UserRepository.save_sample``; the new voiceprint is indexed and published."""
        enrollment = await self.inner.save_sample(user_id, phone, sample, now=now, replace=replace)
        await self._index.put(enrollment)
        await self._publish(user_id)
        return enrollment

    async def list(self, *, limit: int, cursor: str | None = None) -> Page[Enrollment]:
        """See ``UserRepository.list``."""
        return await self.inner.list(limit=limit, cursor=cursor)

    async def delete(self, user_id: UserId) -> bool:
        """See ``UserRepository.delete``; the voiceprint leaves the index and it is published."""
        erased = await self.inner.delete(user_id)
        await self._index.remove(user_id)
        if erased:
            await self._publish(user_id)
        return erased

    async def _publish(self, user_id: UserId) -> None:
        if self._events is None:
            return
        try:
            await self._events.publish(user_id)
        except VoiceAuthError as exc:
            logger.bind(cause=exc.name).warning(
                "voiceprint change not published; other replicas catch up at their next re-sync"
            )


class GuardedIndex:
    """The replica's index as ``Identify`` sees it: refused (503) until its first fill.

    An index still empty because the store did not answer at start would tell every caller
    that nobody matches; refusing is the honest answer until :class:`IndexKeeper` has filled it.
    """

    def __init__(self, index: VoiceprintIndex) -> None:
        self.inner = index
        self.synced = False

    @property
    def model_id(self) -> str:
        """See ``VoiceprintIndex.model_id``."""
        return self.inner.model_id

    async def count(self) -> int:
        """See ``VoiceprintIndex.count``."""
        return await self.inner.count()

    async def members(self) -> list[uuid.UUID]:
        """See ``VoiceprintIndex.members``."""
        return await self.inner.members()

    async def search(self, probe: Embedding, *, limit: int) -> list[IndexHit]:
        """See ``VoiceprintIndex.search``.

        Raises:
            StorageUnavailableError: The index has not been filled from the store yet.
        """
        if not self.synced:
            raise StorageUnavailableError("the voiceprint index is still being read from the store")
        return await self.inner.search(probe, limit=limit)

    async def put(self, enrollment: Enrollment) -> None:
        """See ``VoiceprintIndex.put``."""
        await self.inner.put(enrollment)

    async def remove(self, user_id: UserId) -> None:
        """See ``VoiceprintIndex.remove``."""
        await self.inner.remove(user_id)


class IndexKeeper:
    """Fills the index from the store at start and follows the other replicas' changes.

    A fill that fails (the store unreachable) is retried every ``retry_s`` in the background;
    until one succeeds the guarded index refuses searches.

    Args:
        users: The store (the source of truth).
        index: This replica's index, guarded.
        events: The change events; None for a single replica (filled once, kept current by
            ``IndexedUsers`` alone).
        start_timeout_s: How long :meth:`start` waits for the subscription and the first fill.
        retry_s: The pause between failed fills.
    """

    def __init__(
        self,
        users: UserRepository,
        index: GuardedIndex,
        events: VoiceprintEvents | None,
        *,
        start_timeout_s: float = 10.0,
        retry_s: float = 5.0,
    ) -> None:
        self._users = users
        self._index = index
        self._events = events
        self._start_timeout_s = start_timeout_s
        self._retry_s = retry_s
        self._task: asyncio.Task[None] | None = None
        self._first: asyncio.Future[int | None] | None = None
        self.resyncs = 0

    async def start(self) -> int | None:
        """Subscribe, then fill the index; its size, or None when the first fill failed or did
        not finish within ``start_timeout_s`` (it goes on in the background)."""
        self._first = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run())
        try:
            async with asyncio.timeout(self._start_timeout_s):
                return await asyncio.shield(self._first)
        except TimeoutError:
            logger.warning(
                "voiceprint index not filled yet; identification answers 503 until it is"
            )
            return None

    async def _run(self) -> None:
        if self._events is None:
            await self._fill()
            return
        async with aclosing(self._events.subscribe()) as stream:
            async for user_id in stream:
                if user_id is None:
                    await self._fill()
                    continue
                try:
                    enrollment = await self._users.get(user_id)
                    if enrollment is None:
                        await self._index.remove(user_id)
                    else:
                        await self._index.put(enrollment)
                except VoiceAuthError as exc:
                    logger.bind(cause=exc.name).warning("voiceprint index update failed")

    async def _fill(self) -> None:
        while True:
            try:
                size = await sync_index(self._users, self._index)
            # Any failure, a foreign one included (a driver's bug): the service runs on, and
            # identification answers 503 until a fill succeeds.
            except Exception as exc:  # noqa: BLE001
                name = exc.name if isinstance(exc, VoiceAuthError) else type(exc).__name__
                logger.bind(cause=name).warning("voiceprint index fill failed; retrying")
                self._resolve(None)
                await asyncio.sleep(self._retry_s)
                continue
            self._index.synced = True
            self.resyncs += 1
            logger.bind(voiceprints=size, model=self._index.model_id).info(
                "voiceprint index synced"
            )
            self._resolve(size)
            return

    def _resolve(self, size: int | None) -> None:
        if self._first is not None and not self._first.done():
            self._first.set_result(size)

    async def close(self) -> None:
        """Stop following."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
