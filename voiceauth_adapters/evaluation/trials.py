"""Trial lists: enrolment and test segments per speaker, every enrolment against every test."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from voiceauth_adapters.evaluation.corpus import Clip
from voiceauth_core.errors import InvalidInputError

__all__ = ["Part", "Segment", "Trial", "build_trials", "split_groups", "split_halves"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """A stretch of one clip.

    Args:
        clip: The recording.
        start: Where the part starts, as a fraction of the clip's length.
        end: Where it ends, as a fraction of the clip's length.
    """

    clip: Clip
    start: float = 0.0
    end: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """The audio of one enrolment or one test: parts of a speaker's clips joined end to end.

    Args:
        key: A unique, stable name (``speaker/first-file#half``).
        speaker: Who speaks.
        parts: The parts, in order.
    """

    key: str
    speaker: str
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Trial:
    """One enrolment compared with one test.

    Args:
        enrollment: The enrolment segment.
        test: The test segment.
    """

    enrollment: Segment
    test: Segment

    @property
    def genuine(self) -> bool:
        """Whether both come from the same speaker."""
        return self.enrollment.speaker == self.test.speaker


def _by_speaker(clips: Sequence[Clip]) -> dict[str, list[Clip]]:
    grouped: dict[str, list[Clip]] = defaultdict(list)
    for clip in sorted(clips):
        grouped[clip.speaker].append(clip)
    return dict(grouped)


def split_halves(clips: Sequence[Clip]) -> tuple[list[Segment], list[Segment]]:
    """Each clip's first half enrols its speaker, its second half is a test.

    A speaker with several clips gets one enrolment and one test per clip.
    """
    enrollments: list[Segment] = []
    tests: list[Segment] = []
    for speaker, own in _by_speaker(clips).items():
        for clip in own:
            name = f"{speaker}/{clip.path.name}"
            enrollments.append(
                Segment(key=f"{name}#1", speaker=speaker, parts=(Part(clip=clip, end=0.5),))
            )
            tests.append(
                Segment(key=f"{name}#2", speaker=speaker, parts=(Part(clip=clip, start=0.5),))
            )
    return enrollments, tests


def _natural(clip: Clip) -> list[int | str]:
    """Sort key reading digit runs as numbers (``2_x_10`` after ``2_x_9``)."""
    name = clip.path.name
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _by_last_number(clip: Clip) -> tuple[int, list[int | str]]:
    """Sort key: the last number in the name (a take's index), then the natural order."""
    numbers = re.findall(r"\d+", clip.path.stem)
    return (int(numbers[-1]) if numbers else -1, _natural(clip))


def split_groups(
    clips: Sequence[Clip], *, enroll_files: int, test_files: int, order: str = "natural"
) -> tuple[list[Segment], list[Segment]]:
    """Per speaker, the first ``enroll_files`` clips joined enrol; each next ``test_files`` test.

    For corpora of short clips (spoken digits): clips are ordered by ``order`` (``natural``:
    file name with numbers compared as numbers; ``index``: the last number in the name first,
    so that an enrolment holds one take of each digit), and a trailing remainder shorter than
    ``test_files`` is left out.

    Raises:
        InvalidInputError: A count is not positive, or the order is unknown.
    """
    if enroll_files < 1 or test_files < 1:
        raise InvalidInputError("enrolment and test groups need at least one file each")
    if order not in ("natural", "index"):
        raise InvalidInputError("order is natural or index")
    enrollments: list[Segment] = []
    tests: list[Segment] = []
    for speaker, own in _by_speaker(clips).items():
        key = _by_last_number if order == "index" else _natural
        ordered = sorted(own, key=key)
        if len(ordered) < enroll_files + test_files:
            continue  # not enough clips for both an enrolment and a test
        head = ordered[:enroll_files]
        enrollments.append(
            Segment(
                key=f"{speaker}/{head[0].path.name}+{len(head)}",
                speaker=speaker,
                parts=tuple(Part(clip=c) for c in head),
            )
        )
        rest = ordered[enroll_files:]
        for start in range(0, len(rest) - test_files + 1, test_files):
            group = rest[start : start + test_files]
            tests.append(
                Segment(
                    key=f"{speaker}/{group[0].path.name}+{len(group)}",
                    speaker=speaker,
                    parts=tuple(Part(clip=c) for c in group),
                )
            )
    return enrollments, tests


def build_trials(enrollments: Sequence[Segment], tests: Sequence[Segment]) -> list[Trial]:
    """Every enrolment against every test of another segment key (same speaker: genuine).

    Raises:
        InvalidInputError: There would be no genuine or no impostor trial.
    """
    trials = [Trial(enrollment=e, test=t) for e in enrollments for t in tests if e.key != t.key]
    if not any(t.genuine for t in trials) or all(t.genuine for t in trials):
        raise InvalidInputError(
            "the trial list needs genuine and impostor trials: at least two speakers, "
            "each with an enrolment and a test"
        )
    return trials
