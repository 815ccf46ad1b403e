"""The ports: what the use cases need from the world, as ``typing.Protocol`` types.

Adapters in ``voiceauth_adapters`` implement them; ``voiceauth_core.testing`` ships in-memory
fakes of each, and ``tests/contract`` holds the suite every implementation must pass.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Protocol, runtime_checkable

from voiceauth_core.attempt import Attempt, Decision
from voiceauth_core.audio import Audio
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment, EnrollmentSample
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.paging import Page
from voiceauth_core.scoring import Score
from voiceauth_core.spoofing import SpoofAssessment

__all__ = [
    "AttemptLog",
    "AudioDecoder",
    "AudioSource",
    "Clock",
    "EmbeddingModel",
    "ScoringPolicy",
    "SpeechDetector",
    "SpoofDetector",
    "TelephoneChannel",
    "UserRepository",
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
