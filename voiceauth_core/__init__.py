"""voiceauth's pure domain: values, ports, scoring and the enrol/verify use cases.

It imports no web framework, database driver or ML library; adapters live in
``voiceauth_adapters`` and the HTTP service in ``voiceauth_web``.
"""

from voiceauth_core.attempt import Attempt, Decision, SpoofRisk
from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.clock import SystemClock
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment, EnrollmentSample
from voiceauth_core.errors import (
    AudioDownloadError,
    AudioProcessingError,
    CaptureError,
    InvalidInputError,
    ModelMismatchError,
    PhoneNumberInUseError,
    ServiceBusyError,
    StorageUnavailableError,
    TemplateProtectionError,
    UserNotFoundError,
    VoiceAuthError,
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
    AuthHistory,
    CapturePlan,
    DeleteUser,
    Enroll,
    EnrollmentResult,
    GetUser,
    ListUsers,
    RecentAttempts,
    VerificationResult,
    Verify,
)

__all__ = [
    "CANONICAL_RATE",
    "MIN_SPOOF_SPEECH_S",
    "Attempt",
    "AttemptCursor",
    "Audio",
    "AudioDownloadError",
    "AudioProcessingError",
    "AuthHistory",
    "CaptureError",
    "CapturePlan",
    "CosinePolicy",
    "Decision",
    "DeleteUser",
    "Embedding",
    "Enroll",
    "Enrollment",
    "EnrollmentResult",
    "EnrollmentSample",
    "GetUser",
    "InvalidInputError",
    "ListUsers",
    "ModelMismatchError",
    "Page",
    "PhoneNumber",
    "PhoneNumberInUseError",
    "QualityGate",
    "RecentAttempts",
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
]
