"""voiceauth's pure domain: values, ports, scoring and the enrol/verify use cases.

It imports no web framework, database driver or ML library; adapters live in
``voiceauth_adapters`` and the HTTP service in ``voiceauth_web``.
"""

from voiceauth_core.attempt import Attempt, ChallengeResult, Decision, SpoofRisk
from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.clock import SystemClock
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment, EnrollmentSample
from voiceauth_core.errors import (
    AudioDownloadError,
    AudioProcessingError,
    CaptureError,
    ChallengeError,
    InvalidInputError,
    ModelMismatchError,
    NotFoundError,
    PhoneNumberInUseError,
    ServiceBusyError,
    StorageUnavailableError,
    TemplateProtectionError,
    UserNotFoundError,
    VoiceAuthError,
)
from voiceauth_core.identification import (
    Candidate,
    Identification,
    IdentificationOutcome,
    IndexHit,
    OpenSetRule,
)
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.paging import AttemptCursor, Page, UserCursor
from voiceauth_core.quality import QualityGate
from voiceauth_core.scoring import CosinePolicy, Score
from voiceauth_core.spoofing import (
    MIN_SPOOF_SPEECH_S,
    SpoofAssessment,
    SpoofCalibration,
    SpoofSegment,
)
from voiceauth_core.use_cases import (
    AddToWatchlist,
    AuthHistory,
    CapturePlan,
    DeleteUser,
    DeleteWatchlistEntry,
    Enroll,
    EnrollmentResult,
    GetUser,
    GetWatchlistEntry,
    Identify,
    ListUsers,
    ListWatchlist,
    RecentAttempts,
    ReportFraud,
    VerificationResult,
    Verify,
)
from voiceauth_core.watchlist import (
    EnrollAction,
    WatchlistAction,
    WatchlistEntry,
    WatchlistMatch,
    WatchlistScreen,
)

__all__ = [
    "CANONICAL_RATE",
    "MIN_SPOOF_SPEECH_S",
    "AddToWatchlist",
    "Attempt",
    "AttemptCursor",
    "Audio",
    "AudioDownloadError",
    "AudioProcessingError",
    "AuthHistory",
    "Candidate",
    "CaptureError",
    "CapturePlan",
    "ChallengeError",
    "ChallengeResult",
    "CosinePolicy",
    "Decision",
    "DeleteUser",
    "DeleteWatchlistEntry",
    "Embedding",
    "Enroll",
    "EnrollAction",
    "Enrollment",
    "EnrollmentResult",
    "EnrollmentSample",
    "GetUser",
    "GetWatchlistEntry",
    "Identification",
    "IdentificationOutcome",
    "Identify",
    "IndexHit",
    "InvalidInputError",
    "ListUsers",
    "ListWatchlist",
    "ModelMismatchError",
    "NotFoundError",
    "OpenSetRule",
    "Page",
    "PhoneNumber",
    "PhoneNumberInUseError",
    "QualityGate",
    "RecentAttempts",
    "ReportFraud",
    "Score",
    "ServiceBusyError",
    "SpoofAssessment",
    "SpoofCalibration",
    "SpoofRisk",
    "SpoofSegment",
    "StorageUnavailableError",
    "SystemClock",
    "TemplateProtectionError",
    "UserCursor",
    "UserId",
    "UserNotFoundError",
    "VerificationResult",
    "Verify",
    "VoiceAuthError",
    "WatchlistAction",
    "WatchlistEntry",
    "WatchlistMatch",
    "WatchlistScreen",
]
