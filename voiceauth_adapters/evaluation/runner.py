"""Run trials through the service's own use cases: Enroll, then Verify, with real adapters."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from voiceauth_adapters.audio.telephone import mobile_channel, phone_channel
from voiceauth_adapters.evaluation.trials import Segment, Trial
from voiceauth_adapters.pipeline import Engine, enroll_use_case, verify_use_case
from voiceauth_core.attempt import Decision
from voiceauth_core.audio import Audio
from voiceauth_core.errors import InvalidInputError, VoiceAuthError
from voiceauth_core.identity import UserId
from voiceauth_core.memory import (
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryStore,
    InMemoryUserRepository,
    ManualClock,
)
from voiceauth_core.ports import AttemptLog, AudioDecoder, UserRepository
from voiceauth_core.quality import QualityGate
from voiceauth_core.use_cases import CapturePlan, Enroll, Verify

__all__ = ["CHANNELS", "Condition", "Evaluator", "TrialResult"]

#: The channels a side of a trial can be heard through: as recorded, the simulated G.711 line the
#: cohort and calibration were made with, and a mobile leg (AMR-NB, then G.711) they never heard.
CHANNELS = ("clean", "phone", "mobile")

_LINES: dict[str, Callable[[Audio], Audio]] = {"phone": phone_channel, "mobile": mobile_channel}


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """How the two sides of each trial are heard.

    Args:
        enroll_channel: ``clean`` (as recorded), ``phone`` (through a simulated G.711 line) or
            ``mobile`` (AMR-NB 12.2 kbit/s, then G.711).
        test_channel: The same for the test side.
        test_speech_s: Cut each test to its first this many seconds of speech (None: whole).
        gap_s: Silence put between the clips a segment joins (spoken digits).
        phone_band: Enrolments keep a phone-band voiceprint, as the service's do (False:
            measure without it).
    """

    enroll_channel: str = "clean"
    test_channel: str = "clean"
    test_speech_s: float | None = None
    gap_s: float = 0.15
    phone_band: bool = True

    def __post_init__(self) -> None:
        if self.enroll_channel not in CHANNELS or self.test_channel not in CHANNELS:
            raise InvalidInputError(f"a channel is one of {', '.join(CHANNELS)}")
        if self.test_speech_s is not None and self.test_speech_s <= 0:
            raise InvalidInputError("the test speech length must be positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialResult:
    """One trial's outcome, as the service decides it and on the whole test.

    Args:
        enrollment: The enrolment segment's key.
        test: The test segment's key.
        genuine: Same speaker.
        decision: The service's decision (early decisions on).
        score: Its calibrated score (None without a score).
        raw: Its raw cosine (None without a score).
        speech_s: Net speech that decision used.
        full_decision: The decision on the whole test.
        full_score: The calibrated score on the whole test.
        full_raw: The raw cosine on the whole test.
        full_speech_s: Net speech in the whole test.
    """

    enrollment: str
    test: str
    genuine: bool
    decision: Decision
    score: float | None
    raw: float | None
    speech_s: float
    full_decision: Decision
    full_score: float | None
    full_raw: float | None
    full_speech_s: float


class Evaluator:
    """Enrols every enrolment segment and verifies every test against it, as the service would.

    Each side is decoded by the service's decoder, optionally passed through the phone channel,
    then handed to the real :class:`Enroll` and :class:`Verify` use cases, built over ``engine``
    by the same functions as the service's (in-memory stores), so decoding, quality gate, speech
    detection, embedding, scoring and the early-decision loop are exactly the service's. Each
    trial is verified twice: with the service's capture plan (early decisions) and on the whole
    test (one final check), for the error-rate curves.

    Args:
        engine: The service's model, speech detector, scoring policy and phone line (wrap the
            model and the detector in caches: every check re-reads the capture so far).
        decoder: Turns files into 16 kHz audio.
        gate: The quality gate.
        plan: The service's capture plan.
        condition: The channels and cuts; without ``phone_band`` enrolments are made without the
            engine's phone line.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        decoder: AudioDecoder,
        gate: QualityGate,
        plan: CapturePlan,
        condition: Condition,
    ) -> None:
        self._engine = engine if condition.phone_band else replace(engine, telephone=None)
        self._decoder = decoder
        self._gate = gate
        self._plan = plan
        self._condition = condition
        self._clips: OrderedDict[Path, Audio] = OrderedDict()
        self.failed_enrollments: dict[str, str] = {}

    def use_cases(self, *, users: UserRepository, attempts: AttemptLog) -> tuple[Enroll, Verify]:
        """The ``Enroll`` and ``Verify`` this evaluator runs, over ``users`` and ``attempts``.

        Built over the engine by the service's own builders, on a manual clock.
        """
        clock = ManualClock()
        enroll = enroll_use_case(self._engine, users=users, clock=clock, gate=self._gate)
        verify = verify_use_case(
            self._engine,
            users=users,
            attempts=attempts,
            clock=clock,
            gate=self._gate,
            plan=self._plan,
        )
        return enroll, verify

    async def _clip(self, path: Path) -> Audio:
        audio = self._clips.get(path)
        if audio is None:
            data = await asyncio.to_thread(path.read_bytes)
            audio = await self._decoder.decode(data)
            self._clips[path] = audio
            if len(self._clips) > 64:
                self._clips.popitem(last=False)
        return audio

    async def segment_audio(self, segment: Segment, channel: str) -> Audio:
        """The segment's audio as heard through ``channel``."""
        pieces: list[Audio] = []
        for index, part in enumerate(segment.parts):
            audio = await self._clip(part.clip.path)
            if index and self._condition.gap_s > 0:
                pieces.append(Audio.silence(self._condition.gap_s, audio.sample_rate))
            pieces.append(audio.slice(part.start * audio.duration, part.end * audio.duration))
        joined = Audio.concatenate(pieces)
        line = _LINES.get(channel)
        return joined if line is None else await asyncio.to_thread(line, joined)

    async def _enroll(self, segments: Sequence[Segment], enroll: Enroll) -> dict[str, UserId]:
        enrolled: dict[str, UserId] = {}
        for segment in segments:
            audio = await self.segment_audio(segment, self._condition.enroll_channel)
            user_id = UserId.new()
            try:
                await enroll.execute(user_id=user_id, phone=None, source=InMemoryAudioSource(audio))
            except VoiceAuthError as exc:
                self.failed_enrollments[segment.key] = exc.message
                continue
            enrolled[segment.key] = user_id
        return enrolled

    async def _test_audio(self, segment: Segment) -> Audio:
        audio = await self.segment_audio(segment, self._condition.test_channel)
        if self._condition.test_speech_s is not None:
            speech = await self._engine.detector.speech(audio)
            audio = speech.slice(0, self._condition.test_speech_s)
        return audio

    async def run(
        self,
        trials: Sequence[Trial],
        progress: Callable[[int], None] | None = None,
        after_trial: Callable[[Trial, TrialResult], None] | None = None,
    ) -> list[TrialResult]:
        """Enrol, then verify trial by trial (grouped by test).

        Args:
            trials: The trials.
            progress: Called with 1 after each trial.
            after_trial: Called after each verified trial with its result.
        """
        store = InMemoryStore()
        enroll, verify = self.use_cases(
            users=InMemoryUserRepository(store), attempts=InMemoryAttemptLog(store)
        )
        segments = {t.enrollment.key: t.enrollment for t in trials}
        enrolled = await self._enroll(list(segments.values()), enroll)
        # The whole test, scored once at the end: the same loop with one final check.
        whole = self._gate.max_duration_s
        full_plan = CapturePlan(max_audio_s=whole, check_every_s=whole, target_speech_s=whole)
        by_test: dict[str, list[Trial]] = defaultdict(list)
        for trial in trials:
            by_test[trial.test.key].append(trial)
        results: list[TrialResult] = []
        for group in by_test.values():
            audio = await self._test_audio(group[0].test)
            for trial in group:
                user_id = enrolled.get(trial.enrollment.key)
                if user_id is not None:
                    early = await self._attempt(verify, user_id, audio, None)
                    full = await self._attempt(verify, user_id, audio, full_plan)
                    result = TrialResult(
                        enrollment=trial.enrollment.key,
                        test=trial.test.key,
                        genuine=trial.genuine,
                        decision=early[0],
                        score=early[1],
                        raw=early[2],
                        speech_s=early[3],
                        full_decision=full[0],
                        full_score=full[1],
                        full_raw=full[2],
                        full_speech_s=full[3],
                    )
                    results.append(result)
                    if after_trial is not None:
                        after_trial(trial, result)
                if progress is not None:
                    progress(1)
        return results

    async def _attempt(
        self, verify: Verify, user_id: UserId, audio: Audio, plan: CapturePlan | None
    ) -> tuple[Decision, float | None, float | None, float]:
        """One verification: decision, calibrated score, raw cosine, speech used."""
        try:
            result = await verify.execute(
                source=InMemoryAudioSource(audio, channel="eval"), user_id=user_id, plan=plan
            )
        except VoiceAuthError:
            return Decision.ERROR, None, None, 0.0
        attempt = result.attempt
        return attempt.decision, attempt.score, attempt.raw_score, attempt.speech_seconds
