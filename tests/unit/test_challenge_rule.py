"""The liveness challenge's rules: digits read from words, edit distance, issue and judgement."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceauth_core import InvalidInputError, UserId
from voiceauth_core.challenge import (
    Challenge,
    ChallengeFailure,
    ChallengeRule,
    HeardDigits,
    digit_distance,
    digits_in_words,
    spoken_phrase,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
digit_strings = st.text(alphabet="0123456789", min_size=0, max_size=12)


@given(digit_strings, digit_strings)
def test_distance_is_symmetric_and_zero_only_between_equals(a: str, b: str) -> None:
    assert digit_distance(a, b) == digit_distance(b, a)
    assert (digit_distance(a, b) == 0) == (a == b)
    assert abs(len(a) - len(b)) <= digit_distance(a, b) <= max(len(a), len(b))


@given(digit_strings, digit_strings, digit_strings)
def test_distance_obeys_the_triangle_inequality(a: str, b: str, c: str) -> None:
    assert digit_distance(a, c) <= digit_distance(a, b) + digit_distance(b, c)


@given(st.text(alphabet="0123456789", min_size=1, max_size=12), st.data())
def test_one_digit_changed_dropped_or_added_is_one_edit(digits: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(digits) - 1))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != digits[index]]))
    assert digit_distance(digits, digits[:index] + other + digits[index + 1 :]) == 1
    assert digit_distance(digits, digits[:index] + digits[index + 1 :]) == 1
    assert digit_distance(digits, digits[:index] + other + digits[index:]) == 1


@given(st.text(alphabet="0123456789", min_size=1, max_size=12))
def test_the_spoken_phrase_reads_back_as_its_digits(digits: str) -> None:
    assert digits_in_words(spoken_phrase(digits).split()) == digits


@given(st.lists(st.text(max_size=20), max_size=10))
def test_any_transcript_gives_figures_only(words: list[str]) -> None:
    assert set(digits_in_words(words)) <= set("0123456789")


def test_figures_and_digit_words_are_read_and_other_words_left_out() -> None:
    words = ["It's", " 4", " 7,", " oh", " nine", " for", " 2024."]
    assert digits_in_words(words) == "470942024"
    assert digits_in_words(["My", "number", "is"]) == ""


def test_a_new_challenge_has_fresh_digits_and_expires() -> None:
    rule = ChallengeRule(length=8, ttl_s=90.0)
    user = UserId.new()
    rng = random.Random(3)
    first = rule.issue(user, call_id="call-1", now=T0, choose=rng.choice)
    second = rule.issue(user, call_id=None, now=T0, choose=rng.choice)
    assert len(first.digits) == 8
    assert first.digits.isdigit()
    assert first.digits != second.digits
    assert first.id != second.id
    assert first.expires_at - first.issued_at == timedelta(seconds=90)
    assert first.is_open(T0 + timedelta(seconds=89))
    assert not first.is_open(T0 + timedelta(seconds=90))
    assert first.call_id == "call-1"
    assert second.call_id is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"digits": "12a456"}, "figures"),
        ({"digits": ""}, "figures"),
        ({"expires_at": T0}, "expire"),
        ({"call_id": ""}, "call id"),
        ({"call_id": "x" * 201}, "call id"),
    ],
)
def test_a_malformed_challenge_is_refused(changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "id": UserId.new().value,
        "user_id": UserId.new(),
        "call_id": None,
        "digits": "123456",
        "issued_at": T0,
        "expires_at": T0 + timedelta(minutes=2),
    }
    with pytest.raises(InvalidInputError, match=message):
        Challenge(**{**values, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes", [{"length": 3}, {"length": 13}, {"tolerance": 3}, {"ttl_s": 0.0}]
)
def test_a_rule_out_of_range_is_refused(changes: dict[str, float]) -> None:
    with pytest.raises(InvalidInputError):
        ChallengeRule(**changes)  # type: ignore[arg-type]


@given(st.text(alphabet="0123456789", min_size=6, max_size=6), digit_strings)
def test_an_answer_passes_exactly_when_near_enough_and_in_time(expected: str, heard: str) -> None:
    rule = ChallengeRule(tolerance=1, max_answer_delay_s=4.0)
    challenge = Challenge(
        id=UserId.new().value,
        user_id=UserId.new(),
        call_id=None,
        digits=expected,
        issued_at=T0,
        expires_at=T0 + timedelta(minutes=2),
    )
    on_time = rule.judge(challenge, HeardDigits(digits=heard, start_s=1.0))
    assert on_time.passed == (bool(heard) and digit_distance(expected, heard) <= 1)
    assert on_time.distance == digit_distance(expected, heard)
    late = rule.judge(challenge, HeardDigits(digits=heard, start_s=4.5))
    assert not late.passed
    if on_time.passed:
        assert late.failure is ChallengeFailure.LATE_ANSWER


def test_failures_name_their_reason() -> None:
    rule = ChallengeRule(tolerance=1)
    challenge = rule.issue(UserId.new(), call_id=None, now=T0, choose=lambda _: "7")
    assert challenge.digits == "777777"
    nothing = rule.judge(challenge, HeardDigits(digits=""))
    assert nothing.failure is ChallengeFailure.NO_DIGITS
    wrong = rule.judge(challenge, HeardDigits(digits="771177", start_s=0.5))
    assert (wrong.failure, wrong.distance, wrong.heard) == (
        ChallengeFailure.WRONG_DIGITS,
        2,
        "771177",
    )
    near = rule.judge(challenge, HeardDigits(digits="77777", start_s=0.5))
    assert near.passed
    assert near.failure is None
    assert near.distance == 1
