"""A verification attempt and its decision, as logged for every call, failures included."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from voiceauth_core.identity import UserId

__all__ = ["Attempt", "Decision"]


class Decision(enum.StrEnum):
    """What a verification concluded.

    ``ERROR`` marks an attempt that could not be scored (the capture failed, the audio was
    unusable); it is logged so that every attempt leaves a row, and kept apart from ``REJECT``
    so that failures do not pass for impostors in the statistics.
    """

    ACCEPT = "accept"
    REJECT = "reject"
    NOT_ENOUGH_SPEECH = "not_enough_speech"
    ERROR = "error"

    @property
    def success(self) -> bool:
        """True only for an accepted caller."""
        return self is Decision.ACCEPT


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

    @property
    def success(self) -> bool:
        """True only for an accepted caller."""
        return self.decision.success
