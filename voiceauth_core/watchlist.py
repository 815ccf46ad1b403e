"""The fraudster watchlist: voices reported as fraudulent, and the screen every caller passes.

A call centre's repeat fraudster calls about many accounts with one voice. An operator adds that
voice to the watchlist (from an attempt judged fraudulent, or from a recording); every
verification, enrolment and identification then compares the caller with every entry
(:class:`WatchlistScreen`). A match is reported; by configuration it also turns an accept into a
reject (``WatchlistAction.REJECT``) or refuses an enrolment (``EnrollAction.REFUSE``).

An entry is scored as a one-sample enrolment by the same ``ScoringPolicy`` as a verification,
so its score is calibrated like every other and compared with its own threshold
(``VOICEAUTH_WATCHLIST_THRESHOLD``, measured in ``docs/accuracy.md``).
"""

from __future__ import annotations

import asyncio
import enum
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.identity import UserId

if TYPE_CHECKING:  # the ports module imports this one
    from voiceauth_core.ports import ScoringPolicy, Watchlist

__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_NOTE_CHARS",
    "EnrollAction",
    "WatchlistAction",
    "WatchlistEntry",
    "WatchlistMatch",
    "WatchlistScreen",
]

#: The longest label and note an operator may give an entry.
MAX_LABEL_CHARS = 200
MAX_NOTE_CHARS = 2000

# How many entries, the closest by raw cosine, are scored with the calibrated policy. AS-norm
# shifts a score by the two sides' cohort means, which moves the order of near neighbours a
# little but never lifts an entry from far down the cosine ranking above the threshold.
_CANDIDATES = 5
# The speech an entry is taken to hold, and a caller whose speech is not given (the
# calibration clips durations to [1, 10] s).
_ENTRY_SPEECH_S = 10.0


class WatchlistAction(enum.StrEnum):
    """What a watchlist match does to a verification (``VOICEAUTH_WATCHLIST_ACTION``)."""

    FLAG = "flag"
    REJECT = "reject"


class EnrollAction(enum.StrEnum):
    """What a watchlist match does to an enrolment (``VOICEAUTH_WATCHLIST_ENROLL_ACTION``)."""

    FLAG = "flag"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class WatchlistEntry:
    """A voice on the watchlist.

    Args:
        id: The entry's own id.
        label: The operator's short name for the case (``"caller posing as executor"``).
        note: Free text for the fraud team.
        embedding: The voice, as one speaker embedding (sealed at rest like a voiceprint).
        created_at: When it was added.
        source: Where the voice came from: ``attempt:<attempt id>``, ``url`` or ``upload``.

    Raises:
        InvalidInputError: An empty or too long label, a too long note, or an empty source.
    """

    id: uuid.UUID
    label: str
    note: str
    embedding: Embedding
    created_at: datetime
    source: str

    def __post_init__(self) -> None:
        if not self.label.strip() or len(self.label) > MAX_LABEL_CHARS:
            raise InvalidInputError(
                f"a watchlist label has 1 to {MAX_LABEL_CHARS} characters, not only spaces"
            )
        if len(self.note) > MAX_NOTE_CHARS:
            raise InvalidInputError(f"a watchlist note has at most {MAX_NOTE_CHARS} characters")
        if not self.source:
            raise InvalidInputError("a watchlist entry names where its voice came from")

    def as_enrollment(self) -> Enrollment:
        """The entry as the one-sample enrolment a scoring policy compares a caller with."""
        return Enrollment(
            user_id=UserId(value=self.id),
            phone=None,
            embedding_sum=self.embedding.vector,
            sample_count=1,
            speech_seconds=_ENTRY_SPEECH_S,
            model_id=self.embedding.model_id,
            enrolled_at=self.created_at,
            updated_at=self.created_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchlistMatch:
    """A caller whose voice matches a watchlist entry.

    Args:
        entry_id: The entry matched.
        label: Its label.
        score: The calibrated score in [0, 1] of the caller against the entry.
    """

    entry_id: uuid.UUID
    label: str
    score: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.score) and 0.0 <= self.score <= 1.0):
            raise InvalidInputError("a watchlist score is a calibrated score in [0, 1]")


@dataclass(frozen=True, slots=True)
class _Loaded:
    """The watchlist as last read: its revision, entries and their unit vectors as rows."""

    revision: int
    entries: Sequence[WatchlistEntry]
    matrix: npt.NDArray[np.float64]


class WatchlistScreen:
    """Compares a caller's embedding with every watchlist entry; the best match above threshold.

    The entries' vectors are kept in memory as one matrix, read again only when the store's
    revision changes (one small read per screening), so screening a 1,000-entry watchlist is a
    matrix-vector product and a few calibrated scores. Entries of another model than the
    caller's are skipped (they were made before a model change and cannot be compared).

    Args:
        watchlist: The store of entries.
        policy: The scoring policy of verifications; an entry is scored as a one-sample
            enrolment.
        threshold: A calibrated score at or above this matches (``VOICEAUTH_WATCHLIST_THRESHOLD``).
        action: What a match does to a verification.
        enroll_action: What a match does to an enrolment.
        on_match: Told of every match with the use that found it (``verify``, ``enroll``,
            ``identify``): the service counts and logs it there.

    Raises:
        InvalidInputError: The threshold is not in [0, 1].
    """

    def __init__(
        self,
        *,
        watchlist: Watchlist,
        policy: ScoringPolicy,
        threshold: float,
        action: WatchlistAction = WatchlistAction.FLAG,
        enroll_action: EnrollAction = EnrollAction.FLAG,
        on_match: Callable[[WatchlistMatch, str], None] | None = None,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise InvalidInputError("the watchlist threshold must lie in [0, 1]")
        self._watchlist = watchlist
        self._policy = policy
        self._on_match = on_match
        self._loaded: _Loaded | None = None
        self._lock = asyncio.Lock()
        self.threshold = threshold
        self.action = action
        self.enroll_action = enroll_action

    async def screen(
        self, embedding: Embedding, *, speech_seconds: float | None = None, use: str = "verify"
    ) -> WatchlistMatch | None:
        """The entry ``embedding`` matches best at or above the threshold, or None.

        Args:
            embedding: The caller's embedding.
            speech_seconds: The caller's net speech, which the calibration weighs (None: as
                much as it counts).
            use: What is screened (``verify``, ``enroll``, ``identify``), passed to ``on_match``.

        Raises:
            StorageUnavailableError: The store is unreachable.
            TemplateProtectionError: A sealed entry cannot be opened.
        """
        loaded = await self._current()
        if not loaded.entries or loaded.matrix.shape[1] != embedding.dimension:
            return None
        seconds = _ENTRY_SPEECH_S if speech_seconds is None else speech_seconds
        cosines = loaded.matrix @ embedding.vector
        order = np.argsort(-cosines)[:_CANDIDATES]
        best: WatchlistMatch | None = None
        for index in order:
            entry = loaded.entries[int(index)]
            if entry.embedding.model_id != embedding.model_id:
                continue
            score = self._policy.score(
                entry.as_enrollment(), embedding, speech_seconds=seconds
            ).calibrated
            if score >= self.threshold and (best is None or score > best.score):
                best = WatchlistMatch(entry_id=entry.id, label=entry.label, score=round(score, 6))
        if best is not None and self._on_match is not None:
            self._on_match(best, use)
        return best

    async def _current(self) -> _Loaded:
        revision = await self._watchlist.revision()
        loaded = self._loaded
        if loaded is not None and loaded.revision == revision:
            return loaded
        async with self._lock:
            if self._loaded is not None and self._loaded.revision == revision:
                return self._loaded
            entries = await self._watchlist.entries()
            dimension = entries[0].embedding.dimension if entries else 0
            usable = [e for e in entries if e.embedding.dimension == dimension]
            matrix = (
                np.stack([e.embedding.vector for e in usable])
                if usable
                else np.zeros((0, 0), dtype=np.float64)
            )
            # A revision read before the entries: a write in between is seen on the next call.
            self._loaded = _Loaded(revision=revision, entries=usable, matrix=matrix)
            return self._loaded
