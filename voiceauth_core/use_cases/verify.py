"""Verify: hear the caller, embed their speech, score it against the enrolment, decide, log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from voiceauth_core.attempt import Attempt, ChallengeResult, Decision, SpoofRisk
from voiceauth_core.audio import Audio
from voiceauth_core.challenge import ChallengeOutcome
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment
from voiceauth_core.errors import (
    CaptureError,
    InvalidInputError,
    ServiceBusyError,
    UserNotFoundError,
    VoiceAuthError,
)
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.ports import (
    AttemptLog,
    AudioSource,
    Clock,
    EmbeddingModel,
    ScoringPolicy,
    SpeechDetector,
    SpoofDetector,
    UserRepository,
)
from voiceauth_core.quality import QualityGate
from voiceauth_core.scoring import Score
from voiceauth_core.spoof_gate import SpoofGate
from voiceauth_core.spoofing import SpoofAssessment
from voiceauth_core.use_cases.capture import capture_chunks
from voiceauth_core.use_cases.challenge import AnswerCheck
from voiceauth_core.use_cases.live_capture import LiveCapture
from voiceauth_core.watchlist import WatchlistAction, WatchlistMatch, WatchlistScreen

__all__ = ["CapturePlan", "VerificationResult", "Verify"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class CapturePlan:
    """How long to listen and how often to score.

    Args:
        max_audio_s: Stop listening after this much audio, speech or not (``MAX_AUDIO_DURATION``).
        check_every_s: Look for speech and re-score after each this much new audio.
        target_speech_s: Decide once this much net speech is in, even without an early decision.
    """

    max_audio_s: float = 30.0
    check_every_s: float = 1.0
    target_speech_s: float = 8.0

    def __post_init__(self) -> None:
        if self.max_audio_s <= 0 or self.check_every_s <= 0 or self.target_speech_s <= 0:
            raise InvalidInputError("capture durations must be positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class VerificationResult:
    """The outcome of one verification.

    Args:
        attempt: The attempt as logged.
        score: The score (None when there was not enough speech to score).
        audio_seconds: How much audio was heard.
        challenge: The liveness challenge's judgement, when one was answered.
    """

    attempt: Attempt
    score: Score | None
    audio_seconds: float
    challenge: ChallengeOutcome | None = None

    @property
    def decision(self) -> Decision:
        """The attempt's decision."""
        return self.attempt.decision

    @property
    def speech_seconds(self) -> float:
        """Net speech the decision used."""
        return self.attempt.speech_seconds


@dataclass(slots=True)
class _Capture:
    """The state of one listening session."""

    chunks: list[Audio]
    heard_s: float = 0.0
    checked_s: float = 0.0
    speech_s: float = 0.0
    scored_speech_s: float = 0.0
    score: Score | None = None
    scored_speech: Audio | None = None
    decision: Decision | None = None
    spoof: SpoofAssessment | None = None
    spoof_risk: SpoofRisk | None = None
    embedding: Embedding | None = None
    watchlist: WatchlistMatch | None = None
    challenge: ChallengeOutcome | None = None
    answering: bool = False


class Verify:
    """Decide whether the caller is the enrolled user, and log the attempt whatever happens.

    With a ``spoof`` detector, each scored decision is followed by one spoof assessment of the
    speech it was made on; a voice that matches but sounds synthetic or replayed beyond the
    enrolment's own baseline (``SpoofGate``) is not accepted but sent to another factor
    (``STEP_UP``). The attempt records the probability and the risk level.

    With a watchlist ``screen``, the scored caller is also compared with the fraud watchlist:
    a match is recorded on the attempt, and with ``WatchlistAction.REJECT`` an accept (or a
    step-up) becomes a reject. With a ``probe_retention``, the attempt keeps the caller's
    embedding that long, so that an operator may report the voice as fraudulent.
    """

    def __init__(
        self,
        *,
        model: EmbeddingModel,
        detector: SpeechDetector,
        users: UserRepository,
        attempts: AttemptLog,
        policy: ScoringPolicy,
        clock: Clock,
        gate: QualityGate,
        plan: CapturePlan,
        spoof: SpoofDetector | None = None,
        spoof_gate: SpoofGate | None = None,
        screen: WatchlistScreen | None = None,
        probe_retention: timedelta | None = None,
    ) -> None:
        self._screen = screen
        self._probe_retention = probe_retention
        self._spoof = spoof
        self._spoof_gate = spoof_gate or SpoofGate()
        self._model = model
        self._detector = detector
        self._users = users
        self._attempts = attempts
        self._policy = policy
        self._clock = clock
        self._gate = gate
        self._plan = plan

    async def execute(
        self,
        *,
        source: AudioSource,
        user_id: UserId | None = None,
        phone: PhoneNumber | None = None,
        correlation_id: str = "",
        plan: CapturePlan | None = None,
        challenge: AnswerCheck | None = None,
    ) -> VerificationResult:
        """Verify the speaker of ``source`` against the enrolment of ``user_id`` (or ``phone``).

        With a redeemed ``challenge``, the digits are checked on the same audio; an answer that
        fails turns an accept (or a step-up) into a reject. A live answer is then heard until
        the target speech or the end, never cut short by an early decision.

        Listens until the decision is safe on either side, the target speech is reached, the
        source ends or the plan's cap; scores every ``check_every_s`` of new audio.

        Raises:
            InvalidInputError: Neither a user id nor a phone number was given.
            UserNotFoundError: No enrolment for that user or phone.
            CaptureError, AudioDownloadError, AudioProcessingError: Hearing failed (logged first
                as an ``ERROR`` attempt).
            StorageUnavailableError: The store is unreachable.
        """
        enrollment = await self._lookup(user_id, phone)
        capture = _Capture(chunks=[], answering=challenge is not None)
        if challenge is not None:
            source = challenge.listen(source)
        try:
            await self._listen(enrollment, source, capture, plan or self._plan)
            await self._assess_spoof(enrollment, source, capture)
            await self._screen_watchlist(capture)
            await self._judge_answer(challenge, capture)
        except VoiceAuthError as exc:
            await self._log(enrollment, source, capture, correlation_id, error=exc.name)
            raise
        attempt = await self._log(enrollment, source, capture, correlation_id)
        return VerificationResult(
            attempt=attempt,
            score=capture.score,
            audio_seconds=capture.heard_s,
            challenge=capture.challenge,
        )

    async def _lookup(self, user_id: UserId | None, phone: PhoneNumber | None) -> Enrollment:
        if user_id is not None:
            enrollment = await self._users.get(user_id)
        elif phone is not None:
            enrollment = await self._users.find_by_phone(phone)
        else:
            raise InvalidInputError("give a userId or a phone number")
        if enrollment is None:
            who = (
                f"user {user_id}"
                if user_id is not None
                else f"phone {phone.masked() if phone else ''}"
            )
            raise UserNotFoundError(f"{who} is not enrolled")
        return enrollment

    async def _listen(
        self, enrollment: Enrollment, source: AudioSource, capture: _Capture, plan: CapturePlan
    ) -> None:
        if source.live:
            await self._listen_live(enrollment, source, capture, plan)
        else:
            await self._listen_recording(enrollment, source, capture, plan)
        if capture.decision is None:
            capture.decision = await _patient(
                source, lambda: self._check(enrollment, source, capture, plan, final=True)
            )

    async def _listen_recording(
        self, enrollment: Enrollment, source: AudioSource, capture: _Capture, plan: CapturePlan
    ) -> None:
        async with aclosing(self._chunks(source, plan)) as stream:
            async for chunk in stream:
                room = plan.max_audio_s - capture.heard_s
                capture.chunks.append(chunk.slice(0, room) if chunk.duration > room else chunk)
                capture.heard_s = min(plan.max_audio_s, capture.heard_s + chunk.duration)
                capture.decision = await self._check(enrollment, source, capture, plan, final=False)
                if capture.decision is not None or capture.heard_s >= plan.max_audio_s:
                    break

    async def _listen_live(
        self, enrollment: Enrollment, source: AudioSource, capture: _Capture, plan: CapturePlan
    ) -> None:
        """Check the call every ``check_every_s`` of new audio, each check on all the audio
        that arrived until it starts (read on meanwhile, ``LiveCapture``), until a decision."""
        async with LiveCapture(source, max_audio_s=plan.max_audio_s) as live:
            while True:
                await live.until(capture.checked_s + plan.check_every_s)
                ended = live.ended
                capture.chunks.extend(live.take())
                capture.heard_s = live.heard_s
                try:
                    capture.decision = await self._check(
                        enrollment, source, capture, plan, final=False
                    )
                except ServiceBusyError:
                    # Overloaded: this check is skipped, not the call; the next one (or the
                    # final one) takes all the audio heard so far.
                    capture.decision = None
                if capture.decision is not None:
                    return
                if ended:
                    live.raise_failure()
                    return

    def _chunks(self, source: AudioSource, plan: CapturePlan) -> AsyncGenerator[Audio, None]:
        """A live source as it streams; a recording checked whole, then cut into steps."""
        return capture_chunks(source, self._gate, plan)

    async def _check(
        self,
        enrollment: Enrollment,
        source: AudioSource,
        capture: _Capture,
        plan: CapturePlan,
        *,
        final: bool,
    ) -> Decision | None:
        """Score what was heard so far: a decision, or None to keep listening."""
        if not final and capture.heard_s - capture.checked_s < plan.check_every_s:
            return None
        capture.checked_s = capture.heard_s
        if final and capture.heard_s == 0.0 and source.live:
            raise CaptureError("no audio was received from the call", reason="no_audio")
        speech = await self._detector.speech(Audio.concatenate(capture.chunks))
        capture.speech_s = speech.duration
        if final and capture.speech_s == 0.0 and source.live:
            raise CaptureError(
                "the caller did not speak while the call was heard", reason="no_speech"
            )
        if capture.speech_s < self._gate.min_verify_speech_s:
            return Decision.NOT_ENOUGH_SPEECH if final else None
        if capture.score is None or capture.speech_s > capture.scored_speech_s:
            embedding = await self._model.embed(speech)
            capture.embedding = embedding
            capture.score = self._policy.score(
                enrollment, embedding, speech_seconds=capture.speech_s
            )
            capture.scored_speech_s = capture.speech_s
            capture.scored_speech = speech
        if final or capture.speech_s >= plan.target_speech_s:
            return self._policy.decide(capture.score)
        if capture.answering:  # a live answer is heard whole, not cut by an early decision
            return None
        return self._policy.early_decision(capture.score, speech_seconds=capture.speech_s)

    async def _assess_spoof(
        self, enrollment: Enrollment, source: AudioSource, capture: _Capture
    ) -> None:
        """Once per decision, on the speech it was made on: an accept that sounds synthetic
        (beyond the enrolment's own baseline) becomes a step-up."""
        spoof, speech = self._spoof, capture.scored_speech
        if spoof is None or speech is None:
            return
        if capture.decision not in (Decision.ACCEPT, Decision.REJECT):
            return
        capture.spoof = await _patient(source, lambda: spoof.assess(speech))
        capture.spoof_risk = self._spoof_gate.risk(
            probability=capture.spoof.probability,
            raw=capture.spoof.combined,
            baseline=enrollment.spoof_baseline,
        )
        if capture.decision is Decision.ACCEPT and capture.spoof_risk is SpoofRisk.HIGH:
            capture.decision = Decision.STEP_UP

    async def _screen_watchlist(self, capture: _Capture) -> None:
        """Compare the scored caller with the watchlist; a configured match rejects."""
        if self._screen is None or capture.embedding is None:
            return
        if capture.decision not in (Decision.ACCEPT, Decision.REJECT, Decision.STEP_UP):
            return
        capture.watchlist = await self._screen.screen(
            capture.embedding, speech_seconds=capture.scored_speech_s
        )
        if capture.watchlist is not None and self._screen.action is WatchlistAction.REJECT:
            capture.decision = Decision.REJECT

    async def _judge_answer(self, challenge: AnswerCheck | None, capture: _Capture) -> None:
        """The liveness challenge's digits, on the audio heard: a wrong answer rejects."""
        if challenge is None:
            return
        capture.challenge = await challenge.judge()
        if not capture.challenge.passed and capture.decision in (Decision.ACCEPT, Decision.STEP_UP):
            capture.decision = Decision.REJECT

    async def _log(
        self,
        enrollment: Enrollment,
        source: AudioSource,
        capture: _Capture,
        correlation_id: str,
        *,
        error: str | None = None,
    ) -> Attempt:
        decision = Decision.ERROR if error is not None else capture.decision or Decision.ERROR
        scored = decision in (Decision.ACCEPT, Decision.REJECT, Decision.STEP_UP)
        assessed = error is None and capture.spoof is not None
        now = self._clock.now()
        retention = self._probe_retention if scored and capture.embedding is not None else None
        answer = capture.challenge if error is None else None
        attempt = Attempt(
            id=uuid.uuid4(),
            user_id=enrollment.user_id,
            decision=decision,
            score=capture.score.calibrated if scored and capture.score else None,
            raw_score=capture.score.raw if scored and capture.score else None,
            speech_seconds=round(capture.scored_speech_s if scored else capture.speech_s, 3),
            channel=source.channel,
            correlation_id=correlation_id,
            created_at=now,
            error=error,
            spoof_score=round(capture.spoof.probability, 6) if assessed and capture.spoof else None,
            spoof_risk=capture.spoof_risk if assessed else None,
            watchlist=capture.watchlist if error is None else None,
            probe=capture.embedding if retention is not None else None,
            probe_expires_at=None if retention is None else now + retention,
            challenge=None if answer is None else ChallengeResult.of(answer),
            challenge_delay_s=(
                None if answer is None or answer.start_s is None else round(answer.start_s, 3)
            ),
        )
        await self._attempts.append(attempt)
        return attempt


async def _patient(source: AudioSource, step: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``step``; for a live call, once more if the worker pool was full.

    A live call has been heard by the time it is decided: failing it for a busy pool would
    lose the call, so its decision waits one more turn (``ServiceBusyError`` only if the pool
    stays full twice as long as its queue wait). A recording fails fast, as before.
    """
    try:
        return await step()
    except ServiceBusyError:
        if not source.live:
            raise
        return await step()
