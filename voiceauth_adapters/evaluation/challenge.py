"""The liveness challenge measured: spoken digit strings built from FSDD, heard and judged.

Each trial is a fresh challenge for one speaker: its digits are the speaker's own recordings of
each digit (one take each, drawn from the chosen takes), joined with pauses of a natural length,
after a silence standing for the caller's reaction time. The answer is heard over a channel
(``clean``, ``phone`` for G.711, ``mobile`` for AMR-NB then G.711) by the real recogniser and
judged by the service's rule. A failed answer is retried once with a new challenge, as the
service lets a caller do. A *replay* is the speaker's genuine answer to an earlier challenge
played back to the next one: the rule judges what was heard in it against the new digits.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.challenge import Challenge, ChallengeOutcome, ChallengeRule, HeardDigits
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.identity import UserId
from voiceauth_core.ports import DigitRecognizer

__all__ = [
    "AnswerPlan",
    "ChallengeRun",
    "DigitClips",
    "Trial",
    "build_answer",
    "read_digit_clips",
    "run_channel",
]

_FSDD_NAME = re.compile(r"^(?P<digit>[0-9])_(?P<speaker>[a-z]+)_(?P<take>[0-9]+)$")
_LEVEL = 0.5  # peak of an answer: a normal handset level, well short of clipping
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # challenges' issue time: the rule ignores it


@dataclass(frozen=True, slots=True, kw_only=True)
class DigitClips:
    """One speaker's recordings of each digit, by take."""

    speaker: str
    clips: dict[str, list[Path]]


def read_digit_clips(root: Path, *, takes: range) -> list[DigitClips]:
    """The FSDD files under ``root`` (``{digit}_{speaker}_{take}.wav``) of the chosen takes.

    Raises:
        InvalidInputError: No speaker has every digit among those takes.
    """
    found: dict[str, dict[str, list[Path]]] = {}
    for path in sorted(root.rglob("*.wav")):
        match = _FSDD_NAME.match(path.stem)
        if match is None or int(match["take"]) not in takes:
            continue
        found.setdefault(match["speaker"], {}).setdefault(match["digit"], []).append(path)
    speakers = [
        DigitClips(speaker=speaker, clips=clips)
        for speaker, clips in sorted(found.items())
        if len(clips) == 10
    ]
    if not speakers:
        raise InvalidInputError(f"no speaker under {root} says every digit in takes {takes}")
    return speakers


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerPlan:
    """How an answer is put together (seconds).

    Args:
        reaction_s: The range of the silence before the first digit (a person's reaction).
        pause_s: The range of each pause between digits.
    """

    reaction_s: tuple[float, float] = (0.3, 2.5)
    pause_s: tuple[float, float] = (0.1, 0.4)


def _load(path: Path) -> np.ndarray:
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    if rate != CANONICAL_RATE:
        mono = resample_poly(mono, CANONICAL_RATE, rate)
    return np.asarray(mono, dtype=np.float32)


def build_answer(
    speaker: DigitClips, digits: str, *, plan: AnswerPlan, rng: random.Random
) -> tuple[Audio, float]:
    """The speaker saying ``digits``, and the true start of the first digit (seconds)."""
    lead = rng.uniform(*plan.reaction_s)
    parts = [np.zeros(round(lead * CANONICAL_RATE), np.float32)]
    for digit in digits:
        parts.append(_load(rng.choice(speaker.clips[digit])))
        parts.append(np.zeros(round(rng.uniform(*plan.pause_s) * CANONICAL_RATE), np.float32))
    samples = np.concatenate(parts)
    samples *= _LEVEL / max(float(np.max(np.abs(samples))), 1e-6)
    return Audio(samples=samples, sample_rate=CANONICAL_RATE), lead


@dataclass(frozen=True, slots=True, kw_only=True)
class Trial:
    """One answer heard and judged."""

    speaker: str
    digits: str
    heard: str
    distance: int
    passed: bool
    failure: str | None
    true_start_s: float
    heard_start_s: float | None
    seconds: float
    audio_s: float


@dataclass(slots=True)
class ChallengeRun:
    """A channel's trials: first answers, their retries, and replays."""

    channel: str
    first: list[Trial] = field(default_factory=list)
    retries: list[Trial] = field(default_factory=list)
    replays: list[ChallengeOutcome] = field(default_factory=list)


Channel = Callable[[Audio], Audio]


def run_channel(
    *,
    name: str,
    channel: Channel,
    speakers: Sequence[DigitClips],
    recognizer: DigitRecognizer,
    hear: Callable[[DigitRecognizer, Audio], HeardDigits],
    rule: ChallengeRule,
    trials: int,
    seed: int,
    plan: AnswerPlan | None = None,
) -> ChallengeRun:
    """``trials`` challenges over ``channel``, round the speakers, each retried once if failed.

    Args:
        name: The channel's name in the report.
        channel: What the line does to the answer.
        speakers: Whose answers.
        recognizer: The recogniser under test.
        hear: Runs the recogniser on one answer (synchronously, for the command's loop).
        rule: The service's rule.
        trials: How many first answers.
        seed: Makes the digits, takes, pauses and reactions repeatable.
        plan: How answers are put together.
    """
    rng = random.Random(seed)  # noqa: S311 - a repeatable experiment, not a secret
    answers = plan or AnswerPlan()
    run = ChallengeRun(channel=name)
    last_heard: dict[str, HeardDigits] = {}

    def attempt(speaker: DigitClips) -> tuple[Trial, Challenge]:
        challenge = rule.issue(UserId.new(), call_id=None, now=_EPOCH, choose=rng.choice)
        audio, lead = build_answer(speaker, challenge.digits, plan=answers, rng=rng)
        heard_audio = channel(audio)
        started = time.perf_counter()
        heard = hear(recognizer, heard_audio)
        seconds = time.perf_counter() - started
        outcome = rule.judge(challenge, heard)
        previous = last_heard.get(speaker.speaker)
        if previous is not None:
            run.replays.append(rule.judge(challenge, previous))
        last_heard[speaker.speaker] = heard
        trial = Trial(
            speaker=speaker.speaker,
            digits=challenge.digits,
            heard=heard.digits,
            distance=outcome.distance,
            passed=outcome.passed,
            failure=outcome.failure.value if outcome.failure else None,
            true_start_s=round(lead, 3),
            heard_start_s=None if heard.start_s is None else round(heard.start_s, 3),
            seconds=round(seconds, 3),
            audio_s=round(audio.duration, 3),
        )
        return trial, challenge

    for index in range(trials):
        speaker = speakers[index % len(speakers)]
        trial, _ = attempt(speaker)
        run.first.append(trial)
        if not trial.passed:
            retry, _ = attempt(speaker)
            run.retries.append(retry)
    return run


def _rate(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def _quantiles(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    array = np.asarray(values, dtype=np.float64)
    return {
        name: round(float(np.quantile(array, q)), 3)
        for name, q in (("min", 0.0), ("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
    }


def _histogram(distances: Sequence[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for distance in sorted(distances):
        counts[str(distance)] = counts.get(str(distance), 0) + 1
    return counts


def _at_tolerance(run: ChallengeRun, tolerance: int, bound_s: float) -> dict[str, float | None]:
    """What another tolerance would give on the same answers: a first answer passes when near
    enough and in time; a failed one is retried (the retry made at the service's tolerance is
    reused, so only answers failed at both tolerances have one)."""

    def passes(trial: Trial) -> bool:
        started = trial.heard_start_s is not None and trial.heard_start_s <= bound_s
        return bool(trial.heard) and trial.distance <= tolerance and started

    retries = iter(run.retries)
    passed = retried = 0
    for trial in run.first:
        retry = next(retries) if not trial.passed else None
        if passes(trial):
            passed += 1
        elif retry is not None and passes(retry):
            retried += 1
    total = len(run.first)
    replays = len(run.replays)
    return {
        "genuine_pass": _rate(passed, total),
        "genuine_pass_after_one_retry": _rate(passed + retried, total),
        "replay_rejected": _rate(sum(o.distance > tolerance for o in run.replays), replays),
    }


def summarise_run(run: ChallengeRun, *, rule: ChallengeRule) -> dict[str, object]:
    """A channel's rates: first-answer pass, pass after one retry, replay rejection, digit
    accuracy, the answers' start times and their error, and the recogniser's time; the
    distances of genuine and replayed answers, and the rates other tolerances would give."""
    first = run.first
    total = len(first)
    passed_first = sum(t.passed for t in first)
    passed_retry = sum(t.passed for t in run.retries)
    starts = [t.heard_start_s for t in first if t.heard_start_s is not None]
    start_errors = [t.heard_start_s - t.true_start_s for t in first if t.heard_start_s is not None]
    failures: dict[str, int] = {}
    for trial in [*first, *run.retries]:
        if trial.failure is not None:
            failures[trial.failure] = failures.get(trial.failure, 0) + 1
    every = [*first, *run.retries]
    return {
        "channel": run.channel,
        "trials": total,
        "retries": len(run.retries),
        "exact": _rate(sum(t.distance == 0 for t in first), total),
        "within_one_digit": _rate(sum(t.distance <= 1 for t in first), total),
        "genuine_pass": _rate(passed_first, total),
        "genuine_pass_after_one_retry": _rate(passed_first + passed_retry, total),
        "failures": failures,
        "replays": len(run.replays),
        "replay_rejected": _rate(sum(not o.passed for o in run.replays), len(run.replays)),
        "replay_distance": _quantiles([float(o.distance) for o in run.replays]),
        "answer_start_s": _quantiles(starts),
        "answer_start_error_s": _quantiles(start_errors),
        "late_with_bound": {
            str(bound): _rate(sum(s > bound for s in starts), len(starts))
            for bound in (2.5, 3.0, 4.0, rule.max_answer_delay_s)
        },
        "recognizer_seconds": _quantiles([t.seconds for t in every]),
        "answer_audio_s": _quantiles([t.audio_s for t in every]),
        "genuine_distance": _histogram([t.distance for t in first]),
        "replay_distance_counts": _histogram([o.distance for o in run.replays]),
        "at_tolerance": {
            str(tolerance): _at_tolerance(run, tolerance, rule.max_answer_delay_s)
            for tolerance in (0, 1, 2)
        },
        "answers": [
            {
                "kind": kind,
                "speaker": t.speaker,
                "digits": t.digits,
                "heard": t.heard,
                "distance": t.distance,
                "failure": t.failure,
                "true_start_s": t.true_start_s,
                "heard_start_s": t.heard_start_s,
                "seconds": t.seconds,
            }
            for kind, trials in (("first", first), ("retry", run.retries))
            for t in trials
        ],
    }


def summary_lines(summaries: Sequence[dict[str, object]]) -> list[str]:
    """One line per channel, for the terminal."""
    lines = []
    for item in summaries:
        seconds = item["recognizer_seconds"]
        p95 = seconds.get("p95") if isinstance(seconds, dict) else None
        lines.append(
            f"{item['channel']:<7} trials {item['trials']:>4}  exact {item['exact']}  "
            f"<=1 digit {item['within_one_digit']}  pass {item['genuine_pass']}  "
            f"pass after retry {item['genuine_pass_after_one_retry']}  "
            f"replays rejected {item['replay_rejected']}  recogniser p95 {p95} s"
        )
    return lines
