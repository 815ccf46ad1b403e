"""Identification (1:N) measured through the service's own ``Enroll`` and ``Identify``.

Every speaker's enrolment segment is enrolled once. For a gallery of ``N``, the index holds the
probe speakers first (as many as fit) and then filler speakers (other enrolled voices that are
never probed). Each probe speaker's test segment is identified twice: with its own voiceprint in
the gallery (closed set: is the top candidate right, is the match right), and with it left out
(open set: any match is a false match; the gallery then holds ``N - 1``). Probe speakers that do
not fit in a small gallery only count as strangers. Synthetic voiceprints (random unit vectors)
may be added to reach a large ``N``: they never match a voice but weigh in the gallery-size
correction, and time the search at that size.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from voiceauth_adapters.evaluation.runner import Evaluator
from voiceauth_adapters.evaluation.trials import Segment
from voiceauth_adapters.index import MatrixVoiceprintIndex
from voiceauth_adapters.pipeline import Engine, identify_use_case
from voiceauth_core.calibration import logit
from voiceauth_core.errors import VoiceAuthError
from voiceauth_core.identification import IdentificationOutcome, OpenSetRule
from voiceauth_core.identity import UserId
from voiceauth_core.memory import (
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryStore,
    InMemoryUserRepository,
)
from voiceauth_core.quality import QualityGate
from voiceauth_core.use_cases import CapturePlan

__all__ = [
    "IdentificationRun",
    "IdentifyTrial",
    "identification_lines",
    "summarise_identification",
]

# The cohort's speakers (the shipped cohort's split rule): fillers before calibration speakers.
_COHORT = re.compile(r".*[0-3]")

#: False-match limits reported beside the configured one.
SWEEP = (0.0001, 0.001, 0.01, 0.05, 0.2)


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentifyTrial:
    """One identification of one probe.

    Args:
        probe: The probe speaker.
        gallery: The gallery's name (``10``, ``100``, ``1000000 (synthetic)``, ...).
        gallery_size: The voiceprints in the index for this trial.
        channel: How the probe was heard.
        closed: The probe speaker's own voiceprint was in the gallery.
        top1: The first candidate was the probe speaker (closed set only).
        matched: The user matched, as the probe speaker's (``own``), another (``other``) or none.
        confidence: The best candidate's probability given the gallery.
        best_score: The best candidate's calibrated verification score.
        seconds: Wall time of the identification (speech detection and embedding are cached).
    """

    probe: str
    gallery: str
    gallery_size: int
    channel: str
    closed: bool
    top1: bool
    matched: str
    confidence: float
    best_score: float
    seconds: float


class IdentificationRun:
    """Enrols the corpus once, then identifies each probe against each gallery.

    Args:
        evaluator: Hears segments through a channel and builds ``Enroll`` (the service's).
        engine: The service's model, detector and scoring policy.
        gate: The quality gate.
        plan: The service's capture plan.
        rule: The open-set rule (``VOICE_THRESHOLD``).
        enroll_channel: How enrolment segments are heard.
    """

    def __init__(
        self,
        *,
        evaluator: Evaluator,
        engine: Engine,
        gate: QualityGate,
        plan: CapturePlan,
        rule: OpenSetRule,
        enroll_channel: str,
    ) -> None:
        self._evaluator = evaluator
        self._engine = engine
        self._gate = gate
        self._plan = plan
        self.rule = rule
        self._enroll_channel = enroll_channel
        self._store = InMemoryStore()
        self._users = InMemoryUserRepository(self._store)
        self.enrolled: dict[str, UserId] = {}
        self.failed: dict[str, str] = {}

    async def enrol(self, segments: Sequence[Segment], progress: Callable[[int], None]) -> None:
        """Enrol each speaker's first enrolment segment (one voiceprint per speaker)."""
        enroll, _ = self._evaluator.use_cases(
            users=self._users, attempts=InMemoryAttemptLog(self._store)
        )
        for segment in segments:
            if segment.speaker in self.enrolled:
                continue
            audio = await self._evaluator.segment_audio(segment, self._enroll_channel)
            user = UserId.new()
            try:
                await enroll.execute(user_id=user, phone=None, source=InMemoryAudioSource(audio))
            except VoiceAuthError as exc:
                self.failed[segment.key] = exc.message
            else:
                self.enrolled[segment.speaker] = user
            progress(1)

    async def impostor_log_odds(
        self, tests: Sequence[Segment], *, speakers: re.Pattern[str], channels: Sequence[str]
    ) -> list[float]:
        """Calibrated log-odds of every impostor comparison among ``speakers`` (each enrolled
        one against every other one's test, heard through each channel), as ``Identify`` scores
        a candidate: the data the open-set rule's impostor model is fitted on."""
        enrolled = {s: u for s, u in self.enrolled.items() if speakers.fullmatch(s)}
        values: list[float] = []
        for channel in channels:
            for test in tests:
                if not speakers.fullmatch(test.speaker):
                    continue
                audio = await self._evaluator.segment_audio(test, channel)
                speech = await self._engine.detector.speech(audio)
                if speech.duration < self._gate.min_verify_speech_s:
                    continue
                probe = await self._engine.model.embed(speech)
                for speaker, user in enrolled.items():
                    enrollment = await self._users.get(user)
                    if speaker == test.speaker or enrollment is None:
                        continue
                    score = self._engine.policy.score(
                        enrollment, probe, speech_seconds=speech.duration
                    )
                    values.append(logit(min(1 - 1e-12, max(1e-12, score.calibrated))))
        return values

    async def galleries(
        self,
        tests: Sequence[Segment],
        *,
        probe_rule: re.Pattern[str],
        sizes: Sequence[int],
        channels: Sequence[str],
        synthetic: Sequence[int] = (),
    ) -> tuple[list[IdentifyTrial], dict[str, object]]:
        """Identify the probe speakers' tests against each gallery size and channel, then
        against the whole enrolled set plus random voiceprints up to each ``synthetic`` size
        (first channel only); the trials and how the galleries were made.

        A gallery of ``N`` holds the probe speakers first, then cohort speakers (``.*[0-3]``),
        then the rest, in speaker order; sizes are capped at the enrolled speakers.
        """
        speakers = sorted(self.enrolled)
        probed = [s for s in speakers if probe_rule.fullmatch(s)]
        cohort = [s for s in speakers if s not in probed and _COHORT.fullmatch(s)]
        ordered = probed + cohort + [s for s in speakers if s not in probed and s not in cohort]
        probes = {t.speaker: t for t in tests if t.speaker in probed}
        trials: list[IdentifyTrial] = []
        for size in sorted({min(size, len(ordered)) for size in sizes}):
            for channel in channels:
                trials += await self.identify(
                    gallery=str(size), members=ordered[:size], probes=probes, channel=channel
                )
        for size in synthetic:
            trials += await self.identify(
                gallery=f"{size} (synthetic)",
                members=ordered,
                probes=probes,
                channel=channels[0],
                synthetic=max(0, size - len(ordered)),
            )
        info: dict[str, object] = {
            "probe_speakers": len(probed),
            "cohort_fillers": len(cohort),
            "other_fillers": len(ordered) - len(probed) - len(cohort),
            "gallery_order": "probe speakers, then cohort speakers (.*[0-3]), then the rest",
        }
        return trials, info

    async def identify(
        self,
        *,
        gallery: str,
        members: Sequence[str],
        probes: dict[str, Segment],
        channel: str,
        synthetic: int = 0,
        seed: int = 0,
    ) -> list[IdentifyTrial]:
        """Identify every probe against ``members``' voiceprints (plus ``synthetic`` random ones).

        Args:
            gallery: The gallery's name in the report.
            members: The enrolled speakers in the gallery.
            probes: Test segments of the probe speakers, by speaker.
            channel: How the probes are heard.
            synthetic: Random unit voiceprints added to the index.
            seed: Their seed.
        """
        index = MatrixVoiceprintIndex(self._engine.model.model_id)
        for speaker in members:
            enrollment = await self._users.get(self.enrolled[speaker])
            if enrollment is not None:
                await index.put(enrollment)
        if synthetic:
            rng = np.random.default_rng(seed)
            for start in range(0, synthetic, 100_000):
                count = min(100_000, synthetic - start)
                ids = [uuid.UUID(int=int(v)) for v in rng.integers(1, 2**62, size=count)]
                await index.extend(ids, rng.standard_normal((count, 192), dtype=np.float32))
        identify = identify_use_case(
            self._engine,
            users=self._users,
            index=index,
            rule=self.rule,
            gate=self._gate,
            plan=self._plan,
        )
        trials: list[IdentifyTrial] = []
        in_gallery = set(members)
        for speaker, segment in probes.items():
            audio = await self._evaluator.segment_audio(segment, channel)
            own = self.enrolled.get(speaker)
            closed_options = [True, False] if speaker in in_gallery else [False]
            for closed in closed_options:
                if not closed and own is not None and speaker in in_gallery:
                    await index.remove(own)
                started = time.perf_counter()
                result = await identify.execute(source=InMemoryAudioSource(audio), limit=5)
                seconds = time.perf_counter() - started
                if not closed and own is not None and speaker in in_gallery:
                    enrollment = await self._users.get(own)
                    if enrollment is not None:
                        await index.put(enrollment)
                if result.outcome is IdentificationOutcome.NOT_ENOUGH_SPEECH:
                    continue
                best = result.candidates[0] if result.candidates else None
                matched = (
                    "none" if result.match is None else ("own" if result.match == own else "other")
                )
                trials.append(
                    IdentifyTrial(
                        probe=speaker,
                        gallery=gallery,
                        gallery_size=result.gallery_size,
                        channel=channel,
                        closed=closed,
                        top1=closed and best is not None and best.user_id == own,
                        matched=matched,
                        confidence=result.confidence,
                        best_score=best.score.calibrated if best else 0.0,
                        seconds=seconds,
                    )
                )
        return trials


def _rate(part: int, whole: int) -> dict[str, float | int]:
    return {"rate": round(part / whole, 4) if whole else 0.0, "count": part, "of": whole}


def summarise_identification(
    trials: Sequence[IdentifyTrial], *, threshold: float, max_false_match: float
) -> list[dict[str, Any]]:
    """Per gallery and channel: top-1 accuracy, misses and false matches as decided, and at
    the sweep's false-match limits, the predicted against the observed false matches, and
    timing."""
    groups: dict[tuple[str, str], list[IdentifyTrial]] = {}
    for trial in trials:
        groups.setdefault((trial.gallery, trial.channel), []).append(trial)
    rows: list[dict[str, Any]] = []
    for (gallery, channel), group in groups.items():
        closed = [t for t in group if t.closed]
        opened = [t for t in group if not t.closed]
        made = [t for t in group if t.matched != "none"]
        wrong = [t for t in made if t.matched == "other" or not t.closed]
        sweep = {}
        for limit in sorted({*SWEEP, max_false_match}):

            def passes(t: IdentifyTrial, limit: float = limit) -> bool:
                return t.best_score >= threshold and 1.0 - t.confidence <= limit

            hits = sum(1 for t in closed if t.top1 and passes(t))
            false = sum(1 for t in opened if passes(t))
            sweep[str(limit)] = {
                "miss": _rate(len(closed) - hits, len(closed)),
                "false_match": _rate(false, len(opened)),
            }
        seconds = sorted(t.seconds for t in group)
        rows.append(
            {
                "gallery": gallery,
                "gallery_size": max(t.gallery_size for t in group),
                "channel": channel,
                "closed_set_trials": len(closed),
                "open_set_trials": len(opened),
                "top1_accuracy": _rate(sum(t.top1 for t in closed), len(closed)),
                "correct_match": _rate(sum(t.matched == "own" for t in closed), len(closed)),
                "miss": _rate(sum(t.matched != "own" for t in closed), len(closed)),
                "closed_set_wrong_match": _rate(
                    sum(t.matched == "other" for t in closed), len(closed)
                ),
                "open_set_false_match": _rate(
                    sum(t.matched != "none" for t in opened), len(opened)
                ),
                "matches_made": len(made),
                "wrong_matches_predicted": round(sum(1.0 - t.confidence for t in made), 3),
                "wrong_matches_observed": len(wrong),
                "sweep": sweep,
                "median_ms": round(1000 * seconds[len(seconds) // 2], 2) if seconds else None,
                "p95_ms": round(1000 * seconds[int(0.95 * (len(seconds) - 1))], 2)
                if seconds
                else None,
            }
        )
    return rows


def identification_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One printable line per gallery and channel."""
    return [
        f"gallery {row['gallery']:>20} {row['channel']:>6}: "
        f"top-1 {row['top1_accuracy']['rate']:.2%}, miss {row['miss']['rate']:.2%}, "
        f"false match {row['open_set_false_match']['rate']:.2%} "
        f"({row['closed_set_trials']} closed + {row['open_set_trials']} open trials, "
        f"median {row['median_ms']} ms)"
        for row in rows
    ]
