"""What crosses the wire: msgspec Structs in the original service's camelCase shapes.

VAPI's own shapes are in :mod:`voiceauth_web.vapi_messages`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

__all__ = [
    "AttemptOut",
    "AttemptPage",
    "EnrollUserRequest",
    "EnrollmentOut",
    "ErrorOut",
    "HistoryOut",
    "UserOut",
    "UserPage",
    "VerifyPasswordRequest",
    "VerifyResponse",
]


class EnrollUserRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/enroll-user``."""

    userId: uuid.UUID  # noqa: N815 - the original contract's field names
    audioUrl: str  # noqa: N815
    phone: str | None = None
    replace: bool = False


class VerifyPasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/verify-password``: a user id or a phone number, and the call's listen URL."""

    listenUrl: str  # noqa: N815
    userId: uuid.UUID | None = None  # noqa: N815
    phone: str | None = None


class EnrollmentOut(msgspec.Struct):
    """An enrolment after a sample (``status`` and ``score`` as the original service answered)."""

    userId: str  # noqa: N815
    sampleCount: int  # noqa: N815
    speechSeconds: float  # noqa: N815
    sampleSpeechSeconds: float  # noqa: N815
    strongEnough: bool  # noqa: N815
    modelId: str  # noqa: N815
    status: str = "enrolled"
    score: float = 1.0
    phoneBandVoiceprint: bool = False  # noqa: N815 - phone callers are compared with it


class VerifyResponse(msgspec.Struct):
    """A verification's outcome (``success``, ``message``, ``records``, ``score`` are original)."""

    success: bool
    message: str
    score: float
    decision: str
    rawScore: float | None  # noqa: N815
    speechSeconds: float  # noqa: N815
    threshold: float
    attemptId: str  # noqa: N815
    records: None = None
    audioSeconds: float = 0.0  # noqa: N815 - audio heard until the decision, speech or not
    # The synthetic-speech check: probability and risk (low/elevated/high); null when not made.
    spoofScore: float | None = None  # noqa: N815
    spoofRisk: str | None = None  # noqa: N815


class AttemptOut(msgspec.Struct):
    """One attempt in a history (``id``, ``success``, ``score``, ``created_at`` are original)."""

    id: str
    success: bool
    score: float | None
    created_at: datetime
    decision: str
    rawScore: float | None  # noqa: N815
    speechSeconds: float  # noqa: N815
    channel: str
    userId: str  # noqa: N815
    error: str | None = None
    spoofScore: float | None = None  # noqa: N815
    spoofRisk: str | None = None  # noqa: N815


class HistoryOut(msgspec.Struct):
    """``GET /api/v1/users/{user_id}/auth-history``, with the original snake_case keys."""

    user_id: str
    attempts: list[AttemptOut]
    correlation_id: str
    next_cursor: str | None = None


class AttemptPage(msgspec.Struct):
    """``GET /api/v1/attempts``: all users' attempts, newest first."""

    attempts: list[AttemptOut]
    nextCursor: str | None = None  # noqa: N815


class UserOut(msgspec.Struct):
    """A user's enrolment, without the voiceprint; the phone number masked."""

    userId: str  # noqa: N815
    phone: str | None
    sampleCount: int  # noqa: N815
    speechSeconds: float  # noqa: N815
    strongEnough: bool  # noqa: N815
    modelId: str  # noqa: N815
    enrolledAt: datetime  # noqa: N815
    updatedAt: datetime  # noqa: N815
    phoneBandVoiceprint: bool = False  # noqa: N815 - phone callers are compared with it


class UserPage(msgspec.Struct):
    """``GET /api/v1/users``."""

    users: list[UserOut]
    nextCursor: str | None = None  # noqa: N815


class ErrorOut(msgspec.Struct):
    """Every error response: the original service's top-level shape."""

    error: str
    message: str
    correlation_id: str
    timestamp: str
