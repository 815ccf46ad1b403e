"""The replica's voiceprint index kept current: on its own enrolments and erasures, and others'.

``IndexedUsers`` wraps the enrolment store: after a sample is saved or a user erased it updates
the index and publishes the user id (``VoiceprintEvents``, Redis with ``REDIS_URL``).
``IndexKeeper`` listens: for each id it reads the enrolment from the store (the source of truth)
and puts or removes the voiceprint; on subscribing, and after any gap, it re-syncs the whole
index from the store. Every ``IDENTIFY_RESYNC_S`` it also compares the index with the store and
repairs what differs (an event missed without a gap: a change made outside the service, a
publish that failed). ``GuardedIndex`` refuses searches until the first fill.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
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

__all__ = ["GuardedIndex", "IndexKeeper", "IndexStatus", "IndexedUsers", "Repairs"]


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

    It also remembers which enrolment it holds for each user (when its last sample was added,
    and how many samples it has): what the keeper's periodic re-sync compares with the store.
    """

    def __init__(self, index: VoiceprintIndex) -> None:
        self.inner = index
        self.synced = False
        self._held: dict[uuid.UUID, _Version] = {}
        self._touched: set[uuid.UUID] | None = None

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
        key = enrollment.user_id.value
        if enrollment.model_id == self.model_id:
            self._held[key] = _Version.of(enrollment)
        else:
            self._held.pop(key, None)
        self._touch(key)

    async def remove(self, user_id: UserId) -> None:
        """See ``VoiceprintIndex.remove``."""
        await self.inner.remove(user_id)
        self._held.pop(user_id.value, None)
        self._touch(user_id.value)

    def held(self) -> set[uuid.UUID]:
        """The users whose voiceprints it holds, as it recorded them (no await)."""
        return set(self._held)

    def drift(self, user_id: uuid.UUID, enrollment: Enrollment | None) -> str | None:
        """How what it holds for the user differs from ``enrollment`` (the store's, or None):
        ``added`` (missing here), ``updated`` (an older enrolment here), ``removed`` (held here,
        not in the store or of another model), or None when they agree."""
        held = self._held.get(user_id)
        wanted = (
            _Version.of(enrollment)
            if enrollment is not None and enrollment.model_id == self.model_id
            else None
        )
        if held == wanted:
            return None
        if wanted is None:
            return "removed"
        return "added" if held is None else "updated"

    @contextlib.contextmanager
    def watching(self) -> Iterator[set[uuid.UUID]]:
        """The users whose voiceprints are put or removed while the block runs."""
        touched: set[uuid.UUID] = set()
        self._touched = touched
        try:
            yield touched
        finally:
            self._touched = None

    def _touch(self, key: uuid.UUID) -> None:
        if self._touched is not None:
            self._touched.add(key)


@dataclass(frozen=True, slots=True)
class _Version:
    """Which of a user's enrolments an index holds: it changes with every sample added."""

    updated_at: datetime
    sample_count: int

    @classmethod
    def of(cls, enrollment: Enrollment) -> _Version:
        return cls(updated_at=enrollment.updated_at, sample_count=enrollment.sample_count)


@dataclass(frozen=True, slots=True, kw_only=True)
class Repairs:
    """What one periodic re-sync changed to make the index agree with the store.

    Args:
        added: Voiceprints the index lacked.
        updated: Voiceprints the index held in an older version (a re-enrolment missed).
        removed: Voiceprints of users the store no longer has.
    """

    added: int = 0
    updated: int = 0
    removed: int = 0

    @property
    def total(self) -> int:
        """Every repair."""
        return self.added + self.updated + self.removed


class IndexKeeper:
    """Fills the index from the store at start, follows the other replicas' changes, and every
    ``resync_s`` repairs what drifted from the store.

    A fill that fails (the store unreachable) is retried every ``retry_s`` in the background;
    until one succeeds the guarded index refuses searches. Event handling, fills and periodic
    re-syncs take turns (one lock), so a re-sync never races an event.

    Args:
        users: The store (the source of truth).
        index: This replica's index, guarded.
        events: The change events; None for a single replica (filled once, kept current by
            ``IndexedUsers`` and the periodic re-sync).
        start_timeout_s: How long :meth:`start` waits for the subscription and the first fill.
        retry_s: The pause between failed fills.
        resync_s: The period of the re-sync against the store (``IDENTIFY_RESYNC_S``); 0 turns
            it off.
        on_repair: Told of each kind of repair a re-sync made and how many (the metric).
        page_size: Enrolments read per page by a re-sync.
    """

    def __init__(
        self,
        users: UserRepository,
        index: GuardedIndex,
        events: VoiceprintEvents | None,
        *,
        start_timeout_s: float = 10.0,
        retry_s: float = 5.0,
        resync_s: float = 0.0,
        on_repair: Callable[[str, int], None] | None = None,
        page_size: int = 500,
    ) -> None:
        self._users = users
        self._index = index
        self._events = events
        self._start_timeout_s = start_timeout_s
        self._retry_s = retry_s
        self._resync_s = resync_s
        self._on_repair = on_repair
        self._page_size = page_size
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._first: asyncio.Future[int | None] | None = None
        #: Whole-index fills (at start and after each gap in the events).
        self.resyncs = 0
        #: Periodic re-syncs that completed, and the repairs they made in all.
        self.checks = 0
        self.repairs = 0

    async def start(self) -> int | None:
        """Subscribe, then fill the index; its size, or None when the first fill failed or did
        not finish within ``start_timeout_s`` (it goes on in the background)."""
        self._first = asyncio.get_running_loop().create_future()
        self._tasks = [asyncio.create_task(self._run())]
        if self._resync_s > 0:
            self._tasks.append(asyncio.create_task(self._every()))
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
                    async with self._lock:
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
                async with self._lock:
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

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self._resync_s)
            if not self._index.synced:
                continue  # the first fill is still being retried: nothing to compare yet
            try:
                await self.resync()
            # As for a fill: the next period tries again.
            except Exception as exc:  # noqa: BLE001
                name = exc.name if isinstance(exc, VoiceAuthError) else type(exc).__name__
                logger.bind(cause=name).warning("voiceprint index re-sync failed")

    async def resync(self) -> Repairs:
        """Compare the index with the store and repair what differs; what was repaired.

        The store is read page by page (the enrolments, as a fill reads them) and compared
        with the version the index recorded for each user; only a difference is acted on,
        after reading that user again (a user enrolled or erased through this replica during
        the sweep is left as that change made it). Drift is logged as a warning and counted
        (``on_repair``): it means an event was missed.

        Raises:
            StorageUnavailableError: The store is unreachable.
        """
        async with self._lock:
            with self._index.watching() as touched:
                suspects = await self._suspects()
                counts = {"added": 0, "updated": 0, "removed": 0}
                for value in suspects:
                    user_id = UserId(value=value)
                    fresh = await self._users.get(user_id)
                    kind = self._index.drift(value, fresh)
                    if kind is None or value in touched:
                        continue
                    if kind == "removed":
                        await self._index.remove(user_id)
                    elif fresh is not None:
                        await self._index.put(fresh)
                    counts[kind] += 1
        repairs = Repairs(**counts)
        self.checks += 1
        self.repairs += repairs.total
        if repairs.total:
            logger.bind(
                added=repairs.added, updated=repairs.updated, removed=repairs.removed
            ).warning("voiceprint index drifted from the store (an event was missed); repaired")
            if self._on_repair is not None:
                for kind, count in counts.items():
                    if count:
                        self._on_repair(kind, count)
        return repairs

    async def _suspects(self) -> list[uuid.UUID]:
        """The users whose voiceprint in the index may not be the store's."""
        unseen = self._index.held()
        suspects: list[uuid.UUID] = []
        cursor: str | None = None
        while True:
            page = await self._users.list(limit=self._page_size, cursor=cursor)
            for enrollment in page.items:
                value = enrollment.user_id.value
                unseen.discard(value)
                if self._index.drift(value, enrollment) is not None:
                    suspects.append(value)
            cursor = page.next_cursor
            if cursor is None:
                break
        return [*suspects, *unseen]

    def _resolve(self, size: int | None) -> None:
        if self._first is not None and not self._first.done():
            self._first.set_result(size)

    async def close(self) -> None:
        """Stop following and re-syncing."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexStatus:
    """The identification index as the readiness route reports it.

    Args:
        index: This replica's index.
        events: How replicas hear of each other's changes (``redis``, ``postgres``,
            ``in-process``).
        pgvector: What the database offers of pgvector (never used for search: voiceprints
            are sealed).
    """

    index: GuardedIndex
    events: str
    pgvector: str

    async def component(self) -> dict[str, str]:
        """The readiness component: always ``ok`` (identification alone answers 503 until the
        first fill; verification does not need the index)."""
        return {
            "status": "ok",
            "synced": "yes" if self.index.synced else "no",
            "voiceprints": str(await self.index.count()),
            "events": self.events,
            "pgvector": self.pgvector,
        }
