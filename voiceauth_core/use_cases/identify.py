"""Identify: hear the caller, shortlist the closest enrolled voices, score them, decide open-set."""

from __future__ import annotations

from contextlib import aclosing

from voiceauth_core.audio import Audio
from voiceauth_core.errors import CaptureError, InvalidInputError
from voiceauth_core.identification import (
    Candidate,
    Identification,
    IdentificationOutcome,
    OpenSetRule,
)
from voiceauth_core.identity import UserId
from voiceauth_core.ports import (
    AudioSource,
    EmbeddingModel,
    ScoringPolicy,
    SpeechDetector,
    UserRepository,
    VoiceprintIndex,
)
from voiceauth_core.quality import QualityGate
from voiceauth_core.use_cases.capture import capture_chunks
from voiceauth_core.use_cases.verify import CapturePlan
from voiceauth_core.watchlist import WatchlistScreen

__all__ = ["Identify", "sync_index"]


async def sync_index(users: UserRepository, index: VoiceprintIndex, *, page_size: int = 500) -> int:
    """Make ``index`` hold exactly the voiceprints of ``users``, a page at a time; its size after.

    Every enrolment is put (those of another model are left out by the index), then every
    voiceprint of a user the store no longer has is removed. Changes made meanwhile by the
    keeper of the index are kept: a user enrolled during the sweep is not removed.

    Raises:
        StorageUnavailableError: The store is unreachable.
    """
    held = set(await index.members())
    cursor: str | None = None
    while True:
        page = await users.list(limit=page_size, cursor=cursor)
        for enrollment in page.items:
            await index.put(enrollment)
            held.discard(enrollment.user_id.value)
        cursor = page.next_cursor
        if cursor is None:
            break
    for value in held:
        if await users.get(UserId(value=value)) is None:
            await index.remove(UserId(value=value))
    return await index.count()


class Identify:
    """Tell which enrolled user is speaking, if any.

    The index shortlists the ``shortlist`` voiceprints closest to the caller by cosine; each is
    then scored as a verification would score it (the scoring policy, with its normalisation,
    calibration and phone-band voiceprint), and the open-set rule turns each score and the
    gallery's size into a false-match probability and the decision (see
    :mod:`voiceauth_core.identification`). Nothing is logged: an attempt belongs to a user.
    With a watchlist ``screen``, the caller is also compared with the fraud watchlist and a
    match is reported beside the candidates.

    A live call is heard until ``target_speech_s`` of speech or the cap; a recording is heard
    whole, up to the cap.
    """

    def __init__(
        self,
        *,
        model: EmbeddingModel,
        detector: SpeechDetector,
        users: UserRepository,
        index: VoiceprintIndex,
        policy: ScoringPolicy,
        rule: OpenSetRule,
        gate: QualityGate,
        plan: CapturePlan,
        shortlist: int = 20,
        screen: WatchlistScreen | None = None,
    ) -> None:
        if shortlist < 1:
            raise InvalidInputError("the shortlist holds at least one voiceprint")
        self._model = model
        self._detector = detector
        self._users = users
        self._index = index
        self._policy = policy
        self._rule = rule
        self._gate = gate
        self._plan = plan
        self._shortlist = shortlist
        self._screen = screen

    async def execute(
        self, *, source: AudioSource, limit: int = 5, plan: CapturePlan | None = None
    ) -> Identification:
        """Identify the speaker of ``source`` among the enrolled users.

        Args:
            source: The caller's audio.
            limit: How many candidates to return, best first.
            plan: Another capture plan than the configured one (a VAPI tool's).

        Raises:
            InvalidInputError: ``limit`` is not positive.
            CaptureError, AudioDownloadError, AudioProcessingError: Hearing failed.
            ModelMismatchError: The index holds another model's voiceprints.
            StorageUnavailableError: The store is unreachable.
        """
        if limit < 1:
            raise InvalidInputError("ask for at least one candidate")
        speech, heard_s = await self._listen(source, plan or self._plan)
        if speech.duration < self._gate.min_verify_speech_s:
            return Identification(
                outcome=IdentificationOutcome.NOT_ENOUGH_SPEECH,
                candidates=(),
                match=None,
                gallery_size=await self._index.count(),
                speech_seconds=round(speech.duration, 3),
                audio_seconds=round(heard_s, 3),
            )
        probe = await self._model.embed(speech)
        hits = await self._index.search(probe, limit=max(limit, self._shortlist))
        scored = []
        for hit in hits:
            enrollment = await self._users.get(hit.user_id)
            if enrollment is not None:  # erased since the index heard of it
                score = self._policy.score(enrollment, probe, speech_seconds=speech.duration)
                scored.append((hit.user_id, score))
        # The index may lag the store by a moment; the gallery is never smaller than what scored.
        size = max(await self._index.count(), len(scored))
        gallery = max(size, 1)
        candidates = sorted(
            (
                Candidate(
                    user_id=user_id,
                    score=score,
                    confidence=1.0 - self._rule.false_match(score.calibrated, gallery_size=gallery),
                )
                for user_id, score in scored
            ),
            key=lambda c: (-c.score.calibrated, c.user_id.value),
        )[:limit]
        best = candidates[0] if candidates else None
        match = (
            best.user_id
            if best is not None and self._rule.matches(best.score.calibrated, gallery_size=gallery)
            else None
        )
        flagged = (
            None
            if self._screen is None
            else await self._screen.screen(probe, speech_seconds=speech.duration, use="identify")
        )
        return Identification(
            outcome=IdentificationOutcome.MATCH if match else IdentificationOutcome.NO_MATCH,
            candidates=tuple(candidates),
            match=match,
            gallery_size=size,
            speech_seconds=round(speech.duration, 3),
            audio_seconds=round(heard_s, 3),
            watchlist=flagged,
        )

    async def _listen(self, source: AudioSource, plan: CapturePlan) -> tuple[Audio, float]:
        """The caller's speech and the audio heard: a live call until the target speech is in."""
        chunks: list[Audio] = []
        heard_s = checked_s = 0.0
        speech: Audio | None = None
        async with aclosing(capture_chunks(source, self._gate, plan)) as stream:
            async for chunk in stream:
                room = plan.max_audio_s - heard_s
                chunks.append(chunk.slice(0, room) if chunk.duration > room else chunk)
                heard_s = min(plan.max_audio_s, heard_s + chunk.duration)
                if heard_s >= plan.max_audio_s:
                    break
                if source.live and heard_s - checked_s >= plan.check_every_s:
                    checked_s = heard_s
                    speech = await self._detector.speech(Audio.concatenate(chunks))
                    if speech.duration >= plan.target_speech_s:
                        break
        if heard_s == 0.0 and source.live:
            raise CaptureError("no audio was received from the call", reason="no_audio")
        if speech is None or checked_s < heard_s:
            speech = await self._detector.speech(Audio.concatenate(chunks))
        if speech.duration == 0.0 and source.live:
            raise CaptureError(
                "the caller did not speak while the call was heard", reason="no_speech"
            )
        return speech, heard_s
