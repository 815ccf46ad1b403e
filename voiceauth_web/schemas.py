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
    "ChallengeOut",
    "ChallengeRequest",
    "ChallengeResultOut",
    "EnrollUserRequest",
    "EnrollmentOut",
    "ErrorOut",
    "HistoryOut",
    "IdentifyCandidateOut",
    "IdentifyRequest",
    "IdentifyResponse",
    "IdentifyWatchlistOut",
    "ReportFraudRequest",
    "UserOut",
    "UserPage",
    "VerifyPasswordRequest",
    "VerifyResponse",
    "WatchlistAddRequest",
    "WatchlistEntryOut",
    "WatchlistMatchOut",
    "WatchlistPage",
]


class WatchlistMatchOut(msgspec.Struct):
    """The fraud watchlist entry a caller's voice matched (``watchlist`` in responses)."""

    entryId: str  # noqa: N815
    label: str
    score: float  # the calibrated score of the caller against the entry
    matched: bool = True


class ChallengeRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/users/{userId}/challenges``: optionally, the call it is answered on."""

    callId: str | None = None  # noqa: N815


class ChallengeOut(msgspec.Struct):
    """A new liveness challenge: the digits, the sentence to read out, when it expires."""

    challengeId: str  # noqa: N815
    digits: str
    phrase: str
    expiresAt: datetime  # noqa: N815


class ChallengeResultOut(msgspec.Struct, omit_defaults=True):
    """Whether the answer passed; what was heard and why it failed only when it did not."""

    passed: bool
    heard: str | None = None
    reason: str | None = None


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
    # The liveness challenge the caller answers in this audio (with the user id only).
    challengeId: uuid.UUID | None = None  # noqa: N815


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
    # The sample's voice matched the fraud watchlist (flagged, not refused); null otherwise.
    watchlist: WatchlistMatchOut | None = None


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
    # The fraud watchlist entry the caller's voice matched; null when none did.
    watchlist: WatchlistMatchOut | None = None
    # The liveness challenge, when one was answered; absent otherwise.
    challenge: ChallengeResultOut | msgspec.UnsetType = msgspec.UNSET


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
    # The fraud watchlist entry the caller's voice matched; null when none did.
    watchlist: WatchlistMatchOut | None = None
    # The liveness challenge the attempt answered: "passed", "no_digits", "wrong_digits" or
    # "late_answer"; null when it answered none.
    challenge: str | None = None
    # When the answer began, in seconds after the question ended; null when no digit was heard.
    challengeDelaySeconds: float | None = None  # noqa: N815


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


class IdentifyRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/identify`` as JSON: one audio URL or one live call's listen URL."""

    audioUrl: str | None = None  # noqa: N815
    listenUrl: str | None = None  # noqa: N815
    limit: int = 5


class IdentifyCandidateOut(msgspec.Struct):
    """An enrolled user the caller may be: ``score`` as a verification against that user alone
    would give it; ``confidence``, 1 - the chance that a stranger would score as high against
    someone in a gallery of this size."""

    userId: str  # noqa: N815
    score: float
    rawScore: float  # noqa: N815
    confidence: float


class IdentifyWatchlistOut(msgspec.Struct):
    """The fraud-watchlist entry the caller's voice matched."""

    entryId: str  # noqa: N815
    label: str
    score: float


class IdentifyResponse(msgspec.Struct):
    """An identification: the best candidates first, the open-set decision, and how sure it is."""

    candidates: list[IdentifyCandidateOut]
    match: str | None
    outcome: str
    message: str
    confidence: float
    falseMatchProbability: float  # noqa: N815
    gallerySize: int  # noqa: N815
    threshold: float
    speechSeconds: float  # noqa: N815
    audioSeconds: float  # noqa: N815
    watchlist: IdentifyWatchlistOut | None = None


class ReportFraudRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/attempts/{attemptId}/report-fraud``: put the attempt's voice on the
    watchlist."""

    label: str
    note: str = ""


class WatchlistAddRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/watchlist`` as JSON: the voice at an audio URL (or upload a ``file`` with
    ``label`` and ``note`` as a multipart form)."""

    audioUrl: str  # noqa: N815
    label: str
    note: str = ""


class WatchlistEntryOut(msgspec.Struct):
    """A watchlist entry, without its voice."""

    entryId: str  # noqa: N815
    label: str
    note: str
    source: str  # attempt:<attemptId>, url or upload
    modelId: str  # noqa: N815
    createdAt: datetime  # noqa: N815


class WatchlistPage(msgspec.Struct):
    """``GET /api/v1/watchlist``: entries, newest first."""

    entries: list[WatchlistEntryOut]
    nextCursor: str | None = None  # noqa: N815
