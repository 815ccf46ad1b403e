"""The spoken liveness challenge: a fresh digit string the caller must say, and how it is judged.

A challenge is issued for one user (and optionally one call), expires after a short time and is
redeemed at most once. The caller's answer is heard by a ``DigitRecognizer``; :class:`ChallengeRule`
decides whether what was heard is the challenge's digits, within a tolerance measured on real
speech (``docs/accuracy.md``), and whether the answer began soon enough for a live person.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from voiceauth_core.errors import InvalidInputError
from voiceauth_core.identity import UserId

__all__ = [
    "MAX_CALL_ID_LENGTH",
    "Challenge",
    "ChallengeFailure",
    "ChallengeOutcome",
    "ChallengeRule",
    "HeardDigits",
    "digit_distance",
    "digits_in_words",
    "spoken_phrase",
]

#: The longest call id a challenge is bound to (VAPI's are UUIDs).
MAX_CALL_ID_LENGTH = 200

# How people (and a recogniser) write a spoken digit: "oh" for 0, homophones of 1, 2, 4 and 8
# ("when" and "hey" are how Whisper tiny.en writes a clipped "one" and "eight", measured on the
# half of FSDD the decoding was tuned on).
_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "nought": "0",
    "one": "1",
    "won": "1",
    "when": "1",
    "two": "2",
    "to": "2",
    "too": "2",
    "three": "3",
    "four": "4",
    "for": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "ate": "8",
    "hey": "8",
    "nine": "9",
}
_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TOKENS = re.compile(r"[0-9]|[a-z]+")


def digits_in_words(words: Iterable[str]) -> str:
    """The digits a transcript spells, in order: figures one by one, digit words as figures.

    Any other word (``my``, ``number``, ``is``) is left out, so ``"It's 4 7, oh nine"`` gives
    ``"4709"``.
    """
    found: list[str] = []
    for word in words:
        for token in _TOKENS.findall(word.lower()):
            digit = token if token.isdigit() else _DIGIT_WORDS.get(token)
            if digit is not None:
                found.append(digit)
    return "".join(found)


def digit_distance(expected: str, heard: str) -> int:
    """The edit distance (Levenshtein: substitutions, insertions, deletions) of two strings."""
    previous = list(range(len(heard) + 1))
    for row, wanted in enumerate(expected, start=1):
        current = [row]
        for column, got in enumerate(heard, start=1):
            current.append(
                min(
                    previous[column] + 1,
                    current[column - 1] + 1,
                    previous[column - 1] + (wanted != got),
                )
            )
        previous = current
    return previous[-1]


def spoken_phrase(digits: str) -> str:
    """The sentence an assistant reads out: ``"4 7 1"`` as ``"four, seven, one"``."""
    return ", ".join(_NAMES[int(digit)] for digit in digits)


@dataclass(frozen=True, slots=True, kw_only=True)
class Challenge:
    """One issued challenge.

    Args:
        id: Its id, given to the client.
        user_id: The only user it can be answered for.
        call_id: The only call it can be answered on, or None for any (an upload).
        digits: What the caller must say.
        issued_at: When it was issued.
        expires_at: When it stops being accepted.
        used_at: When it was redeemed, or None while open.
    """

    id: uuid.UUID
    user_id: UserId
    call_id: str | None
    digits: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.digits.isdigit() or not self.digits.isascii():
            raise InvalidInputError("a challenge's digits must be the figures 0-9")
        if self.expires_at <= self.issued_at:
            raise InvalidInputError("a challenge must expire after it is issued")
        if self.call_id is not None and not 0 < len(self.call_id) <= MAX_CALL_ID_LENGTH:
            raise InvalidInputError(f"a call id has 1 to {MAX_CALL_ID_LENGTH} characters")

    def is_open(self, now: datetime) -> bool:
        """Whether it can still be redeemed at ``now``."""
        return self.used_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True, kw_only=True)
class HeardDigits:
    """What a recogniser heard in an answer.

    Args:
        digits: The digits, in order (empty when none were heard).
        start_s: When the first digit began, in seconds from the start of the audio, or None
            when no digit was heard.
    """

    digits: str
    start_s: float | None = None


class ChallengeFailure(StrEnum):
    """Why an answer did not pass."""

    NO_DIGITS = "no_digits"
    WRONG_DIGITS = "wrong_digits"
    LATE_ANSWER = "late_answer"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChallengeOutcome:
    """The judgement of one answer.

    Args:
        passed: Whether the answer passed.
        heard: The digits heard.
        distance: Their edit distance from the challenge's digits.
        start_s: When the answer began in the audio (None: nothing heard).
        failure: Why it did not pass (None when it passed).
    """

    passed: bool
    heard: str
    distance: int
    start_s: float | None
    failure: ChallengeFailure | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChallengeRule:
    """How challenges are made and answers judged.

    Args:
        length: Digits per challenge.
        tolerance: Edits (a digit misheard, dropped or added) an answer may differ by and pass.
            Whisper tiny.en hears about one genuine 6-digit answer in eight with one or two
            such errors; a replayed answer to another challenge differs by three or more, five
            or six typically (docs/accuracy/challenge).
        ttl_s: Seconds a challenge stays open.
        max_answer_delay_s: The latest an answer may begin, in seconds from the start of the
            audio heard for it; a person answers sooner than a typist can drive a cloning service.
    """

    length: int = 6
    tolerance: int = 2
    ttl_s: float = 120.0
    max_answer_delay_s: float = 4.0

    def __post_init__(self) -> None:
        if not 4 <= self.length <= 12:
            raise InvalidInputError("a challenge has 4 to 12 digits")
        if not 0 <= self.tolerance < self.length // 2:
            raise InvalidInputError("the tolerance must be below half the digits")
        if self.ttl_s <= 0 or self.max_answer_delay_s <= 0:
            raise InvalidInputError("a challenge's lifetime and answer delay must be positive")

    def issue(
        self,
        user_id: UserId,
        *,
        call_id: str | None,
        now: datetime,
        choose: Callable[[str], str] = secrets.choice,
    ) -> Challenge:
        """A new challenge of fresh random digits (``choose`` picks one of ``"0123456789"``)."""
        return Challenge(
            id=uuid.uuid4(),
            user_id=user_id,
            call_id=call_id,
            digits="".join(choose("0123456789") for _ in range(self.length)),
            issued_at=now,
            expires_at=now + timedelta(seconds=self.ttl_s),
        )

    def judge(self, challenge: Challenge, heard: HeardDigits) -> ChallengeOutcome:
        """Whether ``heard`` answers ``challenge``: near enough and begun in time."""
        distance = digit_distance(challenge.digits, heard.digits)
        failure: ChallengeFailure | None = None
        if not heard.digits:
            failure = ChallengeFailure.NO_DIGITS
        elif distance > self.tolerance:
            failure = ChallengeFailure.WRONG_DIGITS
        elif heard.start_s is None or heard.start_s > self.max_answer_delay_s:
            failure = ChallengeFailure.LATE_ANSWER
        return ChallengeOutcome(
            passed=failure is None,
            heard=heard.digits,
            distance=distance,
            start_s=heard.start_s,
            failure=failure,
        )
