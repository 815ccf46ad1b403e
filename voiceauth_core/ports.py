"""The ports: what the use cases need from the world, as ``typing.Protocol`` types.

Adapters in ``voiceauth_adapters`` implement them; ``voiceauth_core.testing`` ships in-memory
fakes of each, and ``tests/contract`` holds the suite every implementation must pass.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from voiceauth_core.attempt import Attempt, Decision
from voiceauth_core.audio import Audio
from voiceauth_core.call_board import CallAnswer, CallAsk
from voiceauth_core.challenge import Challenge, HeardDigits
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment, EnrollmentSample
from voiceauth_core.identification import IndexHit
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.paging import Page
from voiceauth_core.scoring import Score
from voiceauth_core.spoofing import SpoofAssessment
from voiceauth_core.watchlist import WatchlistEntry

__all__ = [
    "AttemptLog",
    "AudioDecoder",
    "AudioSource",
    "ChallengeStore",
    "Clock",
    "DecisionBoard",
    "DigitRecognizer",
    "EmbeddingModel",
    "ScoringPolicy",
    "SpeechDetector",
    "SpoofDetector",
    "TelephoneChannel",
    "UserRepository",
    "VoiceprintEvents",
    "VoiceprintIndex",
]


@runtime_checkable
class Clock(Protocol):
    """Tells the time."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


@runtime_checkable
class EmbeddingModel(Protocol):
    """Turns speech into a speaker embedding."""

    @property
    def model_id(self) -> str:
        """Identifies the model and its weights; stored with every embedding it makes."""
        ...

    async def embed(self, audio: Audio) -> Embedding:
        """The speaker embedding of speech at ``CANONICAL_RATE``.

        Raises:
            AudioProcessingError: The audio is at another rate or too short to embed.
        """
        ...


@runtime_checkable
class SpeechDetector(Protocol):
    """Finds the speech in a recording (voice-activity detection)."""

    async def speech(self, audio: Audio) -> Audio:
        """The speech parts of ``audio`` joined end to end; its duration is the net speech."""
        ...


@runtime_checkable
class SpoofDetector(Protocol):
    """Tells how likely speech is synthetic, voice-converted or replayed (a countermeasure).

    It hears speech as the ``SpeechDetector`` leaves it (voice only, at ``CANONICAL_RATE``,
    narrow-band calls included), scores it in windows, and calibrates the mean score into a
    probability with a calibration fitted for that detector.
    """

    @property
    def detector_id(self) -> str:
        """Identifies the detector and its weights; every assessment it makes carries it."""
        ...

    async def assess(self, speech: Audio) -> SpoofAssessment:
        """Score ``speech`` window by window, off the event loop; the windows cover it all.

        Raises:
            AudioProcessingError: The audio is not at ``CANONICAL_RATE`` (reason ``bad_rate``)
                or holds less than ``MIN_SPOOF_SPEECH_S`` of speech, empty included (reason
                ``too_short``).
        """
        ...


@runtime_checkable
class DigitRecognizer(Protocol):
    """Hears the digits spoken in an answer to a liveness challenge (offline speech recognition)."""

    @property
    def recognizer_id(self) -> str:
        """Identifies the recogniser and its weights."""
        ...

    async def hear_digits(self, audio: Audio) -> HeardDigits:
        """The digits spoken in ``audio`` (at ``CANONICAL_RATE``), in order, and when the first
        began; off the event loop. Words that are not digits are left out.

        Raises:
            AudioProcessingError: The audio is not at ``CANONICAL_RATE`` (reason ``bad_rate``).
        """
        ...


@runtime_checkable
class ChallengeStore(Protocol):
    """Keeps issued liveness challenges where every replica can redeem them."""

    async def issue(self, challenge: Challenge) -> None:
        """Keep a new, open challenge.

        Raises:
            UserNotFoundError: Its user has no enrolment.
            StorageUnavailableError: The store is unreachable.
        """
        ...

    async def redeem(
        self, challenge_id: uuid.UUID, *, user_id: UserId, call_id: str | None, now: datetime
    ) -> Challenge:
        """Mark the challenge used, atomically: of concurrent redemptions one wins.

        It must be ``user_id``'s, open at ``now``, and, when it was issued for a call, redeemed
        on that call (``call_id``).

        Raises:
            ChallengeError: Unknown, another user's or call's (reason ``unknown``: which is not
                said), expired (``expired``) or already used (``used``).
            StorageUnavailableError: The store is unreachable.
        """
        ...


@runtime_checkable
class TelephoneChannel(Protocol):
    """Makes audio sound as it would through a narrow-band telephone line.

    ``Enroll`` uses it to keep, beside each sample's embedding, the embedding of the same speech
    heard over the phone, so that a wide-band enrolment can be compared with a caller on a phone
    line channel for channel.
    """

    async def transmit(self, audio: Audio) -> Audio:
        """``audio`` (at ``CANONICAL_RATE``) as heard at the far end of the line, same rate."""
        ...


@runtime_checkable
class AudioDecoder(Protocol):
    """Turns an encoded file (WAV, FLAC, MP3, ...) into mono audio at ``CANONICAL_RATE``."""

    async def decode(self, data: bytes, *, content_type: str | None = None) -> Audio:
        """Decode, downmix and resample.

        Raises:
            AudioProcessingError: The bytes are not audio, or break a configured limit.
        """
        ...


@runtime_checkable
class AudioSource(Protocol):
    """One recording to hear: a file at a URL, an upload, a live call.

    A source is made per request by an adapter's factory. ``fetch`` returns the whole recording;
    ``stream`` yields it in chunks as it arrives, so a verification can decide while the caller
    is still speaking. Both deliver audio at ``CANONICAL_RATE``. A consumer that stops early
    closes the stream (``contextlib.aclosing``), which releases the connection at once.
    """

    @property
    def channel(self) -> str:
        """Where the audio comes from: ``url``, ``upload``, ``vapi``, ..."""
        ...

    @property
    def live(self) -> bool:
        """True for a live capture (a call): its failures are ``CaptureError``s."""
        ...

    async def fetch(self) -> Audio:
        """The whole recording.

        Raises:
            AudioDownloadError: A file could not be fetched.
            CaptureError: A live capture failed.
            AudioProcessingError: The audio could not be decoded or breaks a limit.
        """
        ...

    def stream(self) -> AsyncGenerator[Audio, None]:
        """The recording in chunks, in order, as they arrive; same errors as :meth:`fetch`."""
        ...


@runtime_checkable
class UserRepository(Protocol):
    """Keeps enrolments."""

    async def get(self, user_id: UserId) -> Enrollment | None:
        """The user's enrolment, or None."""
        ...

    async def find_by_phone(self, phone: PhoneNumber) -> Enrollment | None:
        """The enrolment registered with this phone number, or None."""
        ...

    async def save_sample(
        self,
        user_id: UserId,
        phone: PhoneNumber | None,
        sample: EnrollmentSample,
        *,
        now: datetime,
        replace: bool,
    ) -> Enrollment:
        """Add a sample to the user's enrolment atomically (or start it afresh if ``replace``).

        Concurrent calls for the same user never lose a sample. The enrolment arithmetic is the
        core's (:meth:`Enrollment.add`, :meth:`Enrollment.start`).

        Raises:
            ModelMismatchError: The sample's model differs from the enrolment's and not ``replace``.
            PhoneNumberInUseError: The phone number is enrolled for another user.
            StorageUnavailableError: The store is unreachable.
        """
        ...

    async def list(self, *, limit: int, cursor: str | None = None) -> Page[Enrollment]:
        """Enrolments ordered by user id, ``limit`` at a time."""
        ...

    async def delete(self, user_id: UserId) -> bool:
        """Erase the enrolment and every attempt of the user; False if there was none."""
        ...


@runtime_checkable
class AttemptLog(Protocol):
    """Keeps the record of verification attempts."""

    async def append(self, attempt: Attempt) -> None:
        """Record an attempt; the user must exist.

        The attempt's probe embedding, if any, is kept (sealed at rest, like a voiceprint) until
        its ``probe_expires_at``. Every append also erases, in the same write, the probe of every
        attempt whose expiry is at or before this attempt's ``created_at``.

        Raises:
            UserNotFoundError: The user has no enrolment.
            StorageUnavailableError: The store is unreachable.
        """
        ...

    async def history(
        self, user_id: UserId, *, limit: int, cursor: str | None = None
    ) -> Page[Attempt]:
        """The user's attempts, newest first, ``limit`` at a time."""
        ...

    async def recent(
        self, *, limit: int, cursor: str | None = None, since: datetime | None = None
    ) -> Page[Attempt]:
        """All users' attempts, newest first, optionally only those at or after ``since``."""
        ...

    async def get(self, attempt_id: uuid.UUID, *, now: datetime) -> Attempt | None:
        """The attempt with its probe embedding (None past its expiry at ``now``), or None.

        Raises:
            TemplateProtectionError: The probe is sealed and cannot be opened.
            StorageUnavailableError: The store is unreachable.
        """
        ...


@runtime_checkable
class Watchlist(Protocol):
    """Keeps the fraud watchlist: voices reported as fraudulent.

    Every write moves :meth:`revision` on, so a screen keeps the entries in memory and reads them
    again only when it changed.
    """

    async def add(self, entry: WatchlistEntry) -> None:
        """Add an entry (its embedding sealed at rest, like a voiceprint).

        Raises:
            StorageUnavailableError: The store is unreachable.
        """
        ...

    async def get(self, entry_id: uuid.UUID) -> WatchlistEntry | None:
        """The entry, or None."""
        ...

    async def list(self, *, limit: int, cursor: str | None = None) -> Page[WatchlistEntry]:
        """Entries, newest first, ``limit`` at a time.

        Raises:
            InvalidInputError: The cursor is not one this store issued, or ``limit < 1``.
        """
        ...

    async def delete(self, entry_id: uuid.UUID) -> bool:
        """Erase the entry and its embedding; False if there was none."""
        ...

    async def entries(self) -> Sequence[WatchlistEntry]:
        """Every entry, for screening.

        Raises:
            TemplateProtectionError: A sealed embedding cannot be opened.
        """
        ...

    async def revision(self) -> int:
        """A number that changes with every :meth:`add` and :meth:`delete` (a cheap read)."""
        ...


@runtime_checkable
class ScoringPolicy(Protocol):
    """Turns a comparison into a score and a score into a decision."""

    @property
    def name(self) -> str:
        """Identifies the rule (``cosine``, ``asnorm-calibrated``, ...)."""
        ...

    @property
    def threshold(self) -> float:
        """The operating point on the calibrated score, in [0, 1]."""
        ...

    def score(self, enrollment: Enrollment, probe: Embedding, *, speech_seconds: float) -> Score:
        """Score a probe against an enrolment."""
        ...

    def decide(self, score: Score) -> Decision:
        """The final decision for a score: ``ACCEPT`` or ``REJECT``."""
        ...

    def early_decision(self, score: Score, *, speech_seconds: float) -> Decision | None:
        """A decision that more speech would not change, or None to keep listening."""
        ...


@runtime_checkable
class VoiceprintIndex(Protocol):
    """The enrolled voiceprints of one model, searched by cosine: the gallery of an identification.

    Each replica keeps one, built from the ``UserRepository`` at start and kept current as users
    enrol and are erased; the repository stays the source of truth.
    """

    @property
    def model_id(self) -> str:
        """The model whose voiceprints it holds; enrolments of other models are left out."""
        ...

    async def count(self) -> int:
        """How many voiceprints it holds (the gallery size)."""
        ...

    async def members(self) -> list[uuid.UUID]:
        """The ids of the users whose voiceprints it holds, in no particular order."""
        ...

    async def search(self, probe: Embedding, *, limit: int) -> list[IndexHit]:
        """The ``limit`` voiceprints closest to ``probe`` by cosine, best first (ties by user id).

        Raises:
            ModelMismatchError: The probe comes from another model.
            InvalidInputError: ``limit`` is not positive.
        """
        ...

    async def put(self, enrollment: Enrollment) -> None:
        """Hold the user's voiceprint (the enrolment's centroid) in place of any earlier one.

        An enrolment of another model is not held, and removes the user's earlier voiceprint.
        """
        ...

    async def remove(self, user_id: UserId) -> None:
        """Forget the user's voiceprint, if held."""
        ...


@runtime_checkable
class VoiceprintEvents(Protocol):
    """Tells every replica whose voiceprint changed (enrolled, re-enrolled or erased).

    A message carries a user id only: each replica reads the enrolment from the
    ``UserRepository`` (the source of truth) and updates its ``VoiceprintIndex``.
    """

    async def publish(self, user_id: UserId) -> None:
        """Tell every subscriber, in every replica, that ``user_id``'s voiceprint changed.

        Raises:
            StorageUnavailableError: The message could not be sent.
        """
        ...

    def subscribe(self) -> AsyncGenerator[UserId | None, None]:
        """The user ids published from now on, by any replica, this one included.

        It yields None first, once listening, and again after any gap in which messages may
        have been lost (a reconnect): the subscriber then rebuilds its index from the store.
        Closing the generator unsubscribes.
        """
        ...


@runtime_checkable
class DecisionBoard(Protocol):
    """Where replicas share the calls they hear: who holds each call's session, the decisions
    it made, and requests to it from replicas that do not hold it.

    Every entry of a call expires with the call's hold (``ttl_s``) and goes with :meth:`release`.
    """

    async def hold(self, call_id: str, holder: str, *, ttl_s: float) -> str:
        """Hold the call for ``holder`` unless another holds it; renew it if ``holder`` does.

        Returns:
            The call's holder now (``holder`` when it won or already held it).
        """
        ...

    async def holder(self, call_id: str) -> str | None:
        """The replica holding the call, or None."""
        ...

    async def release(self, call_id: str, holder: str) -> None:
        """Forget the call and all of its entries, if ``holder`` holds it."""
        ...

    async def ask(self, call_id: str, ask: CallAsk) -> None:
        """Queue a request for the call's holder (dropped if nobody holds the call)."""
        ...

    async def next_ask(self, call_id: str, *, timeout_s: float) -> CallAsk | None:
        """The call's oldest queued request, waiting up to ``timeout_s``; None if none came."""
        ...

    async def post(self, call_id: str, key: str, answer: CallAnswer) -> None:
        """Post an answer under ``key`` (an ask id, or an account's claim key)."""
        ...

    async def read(self, call_id: str, key: str) -> CallAnswer | None:
        """The answer posted under ``key``, or None."""
        ...

    async def wait(self, call_id: str, key: str, *, timeout_s: float) -> CallAnswer | None:
        """The answer under ``key`` once posted, waiting up to ``timeout_s``; None if none."""
        ...

    async def close(self) -> None:
        """Release the board's connections (idempotent)."""
        ...
