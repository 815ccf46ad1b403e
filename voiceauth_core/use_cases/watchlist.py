"""Managing the fraud watchlist: report an attempt's voice, add a recording, list, read, erase."""

from __future__ import annotations

import uuid

from voiceauth_core.errors import AudioProcessingError, NotFoundError
from voiceauth_core.paging import Page
from voiceauth_core.ports import AttemptLog, AudioSource, Clock, EmbeddingModel, SpeechDetector
from voiceauth_core.ports import Watchlist as WatchlistStore
from voiceauth_core.quality import QualityGate
from voiceauth_core.use_cases.users import _check_limit
from voiceauth_core.watchlist import WatchlistEntry

__all__ = [
    "AddToWatchlist",
    "DeleteWatchlistEntry",
    "GetWatchlistEntry",
    "ListWatchlist",
    "ReportFraud",
]


class ReportFraud:
    """Put the voice of an attempt an operator judged fraudulent on the watchlist."""

    def __init__(self, *, attempts: AttemptLog, watchlist: WatchlistStore, clock: Clock) -> None:
        self._attempts = attempts
        self._watchlist = watchlist
        self._clock = clock

    async def execute(self, attempt_id: uuid.UUID, *, label: str, note: str = "") -> WatchlistEntry:
        """The new entry, made of the attempt's kept probe embedding.

        Raises:
            NotFoundError: No such attempt, or it keeps no voice (it was not scored, the probe
                retention is off, or its retention passed).
            InvalidInputError: The label or note is empty or too long.
            StorageUnavailableError: The store is unreachable.
        """
        now = self._clock.now()
        attempt = await self._attempts.get(attempt_id, now=now)
        if attempt is None:
            raise NotFoundError(f"attempt {attempt_id} does not exist")
        if attempt.probe is None:
            raise NotFoundError(
                f"attempt {attempt_id} keeps no voice: it was not scored, or its retention "
                "(VOICEAUTH_PROBE_RETENTION_DAYS) passed"
            )
        entry = WatchlistEntry(
            id=uuid.uuid4(),
            label=label,
            note=note,
            embedding=attempt.probe,
            created_at=now,
            source=f"attempt:{attempt_id}",
        )
        await self._watchlist.add(entry)
        return entry


class AddToWatchlist:
    """Put the voice of a recording (an audio URL, an upload) on the watchlist."""

    def __init__(
        self,
        *,
        model: EmbeddingModel,
        detector: SpeechDetector,
        gate: QualityGate,
        watchlist: WatchlistStore,
        clock: Clock,
    ) -> None:
        self._model = model
        self._detector = detector
        self._gate = gate
        self._watchlist = watchlist
        self._clock = clock

    async def execute(self, *, source: AudioSource, label: str, note: str = "") -> WatchlistEntry:
        """The new entry, made of the recording's speech.

        Raises:
            AudioDownloadError: The recording could not be fetched.
            AudioProcessingError: It is unusable or holds less speech than a verification needs.
            InvalidInputError: The label or note is empty or too long.
            StorageUnavailableError: The store is unreachable.
        """
        audio = await source.fetch()
        self._gate.check_recording(audio)
        speech = await self._detector.speech(audio)
        if speech.duration < self._gate.min_verify_speech_s:
            raise AudioProcessingError(
                f"the recording holds {speech.duration:.1f} s of speech; a watchlist entry "
                f"needs at least {self._gate.min_verify_speech_s:.1f} s",
                reason="too_short",
            )
        entry = WatchlistEntry(
            id=uuid.uuid4(),
            label=label,
            note=note,
            embedding=await self._model.embed(speech),
            created_at=self._clock.now(),
            source=source.channel,
        )
        await self._watchlist.add(entry)
        return entry


class ListWatchlist:
    """Watchlist entries, newest first, a page at a time."""

    def __init__(self, *, watchlist: WatchlistStore) -> None:
        self._watchlist = watchlist

    async def execute(self, *, limit: int = 50, cursor: str | None = None) -> Page[WatchlistEntry]:
        """A page of entries.

        Raises:
            InvalidInputError: ``limit`` out of range, or a cursor this service did not issue.
        """
        _check_limit(limit)
        return await self._watchlist.list(limit=limit, cursor=cursor)


class GetWatchlistEntry:
    """One watchlist entry."""

    def __init__(self, *, watchlist: WatchlistStore) -> None:
        self._watchlist = watchlist

    async def execute(self, entry_id: uuid.UUID) -> WatchlistEntry:
        """The entry.

        Raises:
            NotFoundError: There is none with that id.
        """
        entry = await self._watchlist.get(entry_id)
        if entry is None:
            raise NotFoundError(f"watchlist entry {entry_id} does not exist")
        return entry


class DeleteWatchlistEntry:
    """Erase a watchlist entry and its voice."""

    def __init__(self, *, watchlist: WatchlistStore) -> None:
        self._watchlist = watchlist

    async def execute(self, entry_id: uuid.UUID) -> None:
        """Erase it.

        Raises:
            NotFoundError: There is none with that id.
        """
        if not await self._watchlist.delete(entry_id):
            raise NotFoundError(f"watchlist entry {entry_id} does not exist")
