"""A verification attempt and its decision, as logged for every call, failures included."""

from __future__ import annotations

import enum
import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from voiceauth_core.challenge import ChallengeFailure, ChallengeOutcome
from voiceauth_core.embedding import Embedding
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.identity import UserId
from voiceauth_core.watchlist import WatchlistMatch

__all__ = ["Attempt", "ChallengeResult", "Decision", "SpoofRisk"]


class Decision(enum.StrEnum):
    """What a verification concluded.

    ``STEP_UP`` marks a voice that matches the enrolment but whose speech sounds synthetic,
    converted or replayed: the caller is asked for another factor. It is not a success (only
    ``ACCEPT`` is), nor a ``REJECT``: the voice did match, and the countermeasure is a risk
    signal, not proof.

    ``ERROR`` marks an attempt that could not be scored (the capture failed, the audio was
    unusable); it is logged so that every attempt leaves a row, and kept apart from ``REJECT``
    so that failures do not pass for impostors in the statistics.
    """

    ACCEPT = "accept"
    REJECT = "reject"
    STEP_UP = "step_up"
    NOT_ENOUGH_SPEECH = "not_enough_speech"
    ERROR = "error"

    @property
    def success(self) -> bool:
        """True only for an accepted caller."""
        return self is Decision.ACCEPT


class SpoofRisk(enum.StrEnum):
    """How likely an attempt's speech was synthetic, converted or replayed.

    ``LOW`` changes nothing; ``ELEVATED`` is reported only; ``HIGH`` turns a matching voice into
    ``Decision.STEP_UP``.
    """

    LOW = "low"
    ELEVATED = "elevated"
    HIGH = "high"


class ChallengeResult(enum.StrEnum):
    """How an attempt's answer to a liveness challenge was judged: ``PASSED``, or the
    :class:`~voiceauth_core.challenge.ChallengeFailure` it failed with (the same words as a
    verification's ``challenge.reason``)."""

    PASSED = "passed"
    NO_DIGITS = "no_digits"
    WRONG_DIGITS = "wrong_digits"
    LATE_ANSWER = "late_answer"

    @classmethod
    def of(cls, outcome: ChallengeOutcome) -> ChallengeResult:
        """The result of a judged answer."""
        failure = outcome.failure
        if outcome.passed or failure is None:
            return cls.PASSED
        return _FAILED[failure]


_FAILED = {
    ChallengeFailure.NO_DIGITS: ChallengeResult.NO_DIGITS,
    ChallengeFailure.WRONG_DIGITS: ChallengeResult.WRONG_DIGITS,
    ChallengeFailure.LATE_ANSWER: ChallengeResult.LATE_ANSWER,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One verification attempt.

    Args:
        id: The attempt's own id.
        user_id: The user whose voiceprint was tested.
        decision: The outcome.
        score: The calibrated score in [0, 1] compared with the threshold (None if not scored).
        raw_score: The raw cosine similarity (None if not scored).
        speech_seconds: Net speech the decision used.
        channel: Where the audio came from (``vapi``, ``upload``, ``url``, ...).
        correlation_id: The request's correlation id (``X-Call-ID``).
        created_at: When the attempt ended.
        error: The error name when ``decision`` is ``ERROR``.
        spoof_score: The calibrated probability in [0, 1] that the speech was synthetic,
            converted or replayed; None when it was not assessed.
        spoof_risk: What that probability meant for this user; set exactly when
            ``spoof_score`` is.
        watchlist: The fraud watchlist entry the caller's voice matched, or None.
        probe: The caller's embedding, kept (sealed at rest) so that an operator may report the
            voice as fraudulent (``report-fraud``); None when not kept or once erased.
        probe_expires_at: When ``probe`` is erased (``VOICEAUTH_PROBE_RETENTION_DAYS``); set
            exactly when ``probe`` is.
        challenge: How the liveness challenge this attempt answered was judged; None when it
            answered none.
        challenge_delay_s: When the answer began, in seconds after the question ended; None
            when no digit was heard (or no challenge was answered).

    Raises:
        InvalidInputError: ``spoof_score`` is not a probability, or only one of ``spoof_score``
            and ``spoof_risk`` is set, or only one of ``probe`` and ``probe_expires_at``, or
            ``challenge_delay_s`` is negative, not finite, or set without ``challenge``.
    """

    id: uuid.UUID
    user_id: UserId
    decision: Decision
    score: float | None
    raw_score: float | None
    speech_seconds: float
    channel: str
    correlation_id: str
    created_at: datetime
    error: str | None = None
    spoof_score: float | None = None
    spoof_risk: SpoofRisk | None = None
    watchlist: WatchlistMatch | None = None
    probe: Embedding | None = None
    probe_expires_at: datetime | None = None
    challenge: ChallengeResult | None = None
    challenge_delay_s: float | None = None

    def __post_init__(self) -> None:
        if (self.probe is None) != (self.probe_expires_at is None):
            raise InvalidInputError("an attempt's probe and its expiry go together")
        if (self.spoof_score is None) != (self.spoof_risk is None):
            raise InvalidInputError("an attempt's spoof score and spoof risk go together")
        if self.spoof_score is not None and not (
            math.isfinite(self.spoof_score) and 0.0 <= self.spoof_score <= 1.0
        ):
            raise InvalidInputError("a spoof score is a probability in [0, 1]")
        delay = self.challenge_delay_s
        if delay is not None and (
            self.challenge is None or not math.isfinite(delay) or delay < 0.0
        ):
            raise InvalidInputError(
                "a challenge's answer delay is a time of 0 s or more, kept with its result"
            )

    @property
    def success(self) -> bool:
        """True only for an accepted caller."""
        return self.decision.success
