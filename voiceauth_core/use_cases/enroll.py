"""Enrol: fetch a sample, gate its quality, embed its speech, add it to the user's voiceprint."""

from __future__ import annotations

from dataclasses import dataclass

from voiceauth_core.audio import Audio
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment, EnrollmentSample
from voiceauth_core.errors import AudioProcessingError
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.ports import (
    AudioSource,
    Clock,
    EmbeddingModel,
    SpeechDetector,
    SpoofDetector,
    TelephoneChannel,
    UserRepository,
)
from voiceauth_core.quality import QualityGate
from voiceauth_core.spoof_gate import SpoofGate
from voiceauth_core.watchlist import EnrollAction, WatchlistMatch, WatchlistScreen

__all__ = ["Enroll", "EnrollmentResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollmentResult:
    """What one enrolment sample achieved.

    Args:
        enrollment: The enrolment after the sample was added.
        sample_speech_seconds: Net speech in this sample.
        strong_enough: Whether the enrolment is strong enough (:meth:`QualityGate.strong_enough`).
        watchlist: The fraud watchlist entry the sample's voice matched (flagged, not refused),
            or None.
    """

    enrollment: Enrollment
    sample_speech_seconds: float
    strong_enough: bool
    watchlist: WatchlistMatch | None = None


class Enroll:
    """Add a voice sample to a user's enrolment (or replace the enrolment with it).

    With a ``telephone`` channel, each sample's speech is embedded twice: as recorded, and as
    heard through that channel (the phone-band voiceprint a phone caller is compared with).

    With a ``spoof`` detector, a sample that sounds clearly synthetic is refused, and each
    sample's own countermeasure score (through the telephone channel when there is one, where
    later calls are heard) is kept as the enrolment's spoof baseline: some real voices score
    "synthetic" on every call, and verification compares them with themselves.

    With a watchlist ``screen``, each sample's voice is compared with the fraud watchlist: a
    match is refused (``EnrollAction.REFUSE``) or reported in the result (``FLAG``).
    """

    def __init__(
        self,
        *,
        model: EmbeddingModel,
        detector: SpeechDetector,
        users: UserRepository,
        clock: Clock,
        gate: QualityGate,
        telephone: TelephoneChannel | None = None,
        spoof: SpoofDetector | None = None,
        spoof_gate: SpoofGate | None = None,
        screen: WatchlistScreen | None = None,
    ) -> None:
        self._screen = screen
        self._telephone = telephone
        self._spoof = spoof
        self._spoof_gate = spoof_gate or SpoofGate()
        self._model = model
        self._detector = detector
        self._users = users
        self._clock = clock
        self._gate = gate

    async def execute(
        self,
        *,
        user_id: UserId,
        phone: PhoneNumber | None,
        source: AudioSource,
        replace: bool = False,
    ) -> EnrollmentResult:
        """Fetch, check, embed and store one sample.

        A later sample for the same user is added to the enrolment unless ``replace`` is set.

        Raises:
            AudioDownloadError: The sample could not be fetched.
            AudioProcessingError: The sample is unusable, has too little speech, sounds
                clearly synthetic (reason ``synthetic``), or matches the fraud watchlist when
                such enrolments are refused (reason ``watchlisted``).
            ModelMismatchError: The enrolment was made by another model (enrol with ``replace``).
            PhoneNumberInUseError: The phone number belongs to another user.
            StorageUnavailableError: The store is unreachable.
        """
        audio = await source.fetch()
        self._gate.check_recording(audio)
        speech = await self._detector.speech(audio)
        self._gate.check_enrollment_speech(speech.duration)
        line = None if self._telephone is None else await self._telephone.transmit(speech)
        spoof_raw = await self._spoof_baseline(speech, line)
        embedding = await self._model.embed(speech)
        watchlist = await self._screen_watchlist(embedding, speech.duration)
        phone_band = None if line is None else await self._model.embed(line)
        sample = EnrollmentSample(
            embedding=embedding,
            speech_seconds=speech.duration,
            phone_band=phone_band,
            spoof_raw=spoof_raw,
        )
        enrollment = await self._users.save_sample(
            user_id, phone, sample, now=self._clock.now(), replace=replace
        )
        return EnrollmentResult(
            enrollment=enrollment,
            sample_speech_seconds=speech.duration,
            strong_enough=self._gate.strong_enough(enrollment),
            watchlist=watchlist,
        )

    async def _screen_watchlist(
        self, embedding: Embedding, speech_seconds: float
    ) -> WatchlistMatch | None:
        """The watchlist entry the sample matches (refused if so configured), or None."""
        if self._screen is None:
            return None
        match = await self._screen.screen(embedding, speech_seconds=speech_seconds, use="enroll")
        if match is not None and self._screen.enroll_action is EnrollAction.REFUSE:
            raise AudioProcessingError(
                "the voice matches an entry of the fraud watchlist: the enrolment is refused; "
                "refer the case to the fraud team",
                reason="watchlisted",
            )
        return match

    async def _spoof_baseline(self, speech: Audio, line: Audio | None) -> float | None:
        """Refuse clearly synthetic speech; the sample's raw score where calls will be heard."""
        if self._spoof is None:
            return None
        recorded = await self._spoof.assess(speech)
        if self._spoof_gate.refuses_enrollment(recorded.probability):
            raise AudioProcessingError(
                "the sample sounds synthetic (generated or replayed), not a live voice: enrol "
                "with a recording of the person speaking",
                reason="synthetic",
            )
        if line is None:
            return recorded.combined
        return (await self._spoof.assess(line)).combined
