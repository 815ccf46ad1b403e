"""Trial lists from enrolment/test splits: halves, groups of files, every pair once."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceauth_adapters.evaluation.corpus import Clip
from voiceauth_adapters.evaluation.trials import build_trials, split_groups, split_halves
from voiceauth_core.errors import InvalidInputError

pytestmark = pytest.mark.unit


def _clips(speakers: dict[str, int], name: str = "{d}_{s}_{i}.wav") -> list[Clip]:
    """``count`` digit files per speaker named like FSDD: digit d, take i."""
    clips = []
    for speaker, count in speakers.items():
        for n in range(count):
            digit, take = n % 10, n // 10
            path = Path("/corpus") / name.format(d=digit, s=speaker, i=take)
            clips.append(Clip(speaker=speaker, path=path))
    return clips


def test_halves_give_one_enrolment_and_one_test_per_clip() -> None:
    clips = [Clip(speaker=s, path=Path(f"/c/{s}-1-0.flac")) for s in ("103", "118", "200")]
    enrollments, tests = split_halves(clips)
    assert [e.speaker for e in enrollments] == ["103", "118", "200"]
    assert all(e.parts[0].start == 0.0 and e.parts[0].end == 0.5 for e in enrollments)
    assert all(t.parts[0].start == 0.5 and t.parts[0].end == 1.0 for t in tests)
    trials = build_trials(enrollments, tests)
    assert len(trials) == 9
    assert sum(t.genuine for t in trials) == 3
    genuine = [t for t in trials if t.genuine]
    assert all(t.enrollment.parts[0].clip == t.test.parts[0].clip for t in genuine)


def test_groups_by_take_put_one_of_each_digit_in_the_enrolment() -> None:
    clips = _clips({"george": 50, "theo": 50})
    enrollments, tests = split_groups(clips, enroll_files=10, test_files=5, order="index")
    assert len(enrollments) == 2
    george = enrollments[0]
    assert george.speaker == "george"
    assert sorted(p.clip.path.name.split("_")[0] for p in george.parts) == [
        str(d) for d in range(10)
    ]
    assert all(p.clip.path.name.endswith("_0.wav") for p in george.parts)
    # 40 remaining files per speaker in tests of 5: 8 each, none overlapping the enrolment.
    assert len(tests) == 16
    used = {p.clip.path for t in tests for p in t.parts}
    assert not used & {p.clip.path for e in enrollments for p in e.parts}
    assert len({t.key for t in tests}) == len(tests)


def test_groups_leave_out_a_short_remainder_and_small_speakers() -> None:
    clips = _clips({"a": 23, "b": 12})
    enrollments, tests = split_groups(clips, enroll_files=10, test_files=5)
    assert [e.speaker for e in enrollments] == ["a"]  # b has 12 < 10 + 5 files
    assert len(tests) == 2  # 13 remaining files of a: two full tests, 3 left out


def test_natural_order_reads_numbers_as_numbers() -> None:
    clips = [Clip(speaker="x", path=Path(f"/c/x_{i}.wav")) for i in (10, 2, 1, 9)]
    enrollments, tests = split_groups(clips, enroll_files=2, test_files=1, order="natural")
    assert [p.clip.path.name for p in enrollments[0].parts] == ["x_1.wav", "x_2.wav"]
    assert [t.parts[0].clip.path.name for t in tests] == ["x_9.wav", "x_10.wav"]


def test_every_enrolment_meets_every_test_once() -> None:
    enrollments, tests = split_groups(
        _clips({"a": 20, "b": 20, "c": 20}), enroll_files=10, test_files=5
    )
    trials = build_trials(enrollments, tests)
    assert len(trials) == 3 * 6
    pairs = {(t.enrollment.key, t.test.key) for t in trials}
    assert len(pairs) == len(trials)
    assert sum(t.genuine for t in trials) == 6


def test_a_list_without_both_kinds_of_trial_is_refused() -> None:
    enrollments, tests = split_halves([Clip(speaker="a", path=Path("/c/a-1.flac"))])
    with pytest.raises(InvalidInputError):
        build_trials(enrollments, tests)
    with pytest.raises(InvalidInputError):
        split_groups(_clips({"a": 20}), enroll_files=0, test_files=5)
