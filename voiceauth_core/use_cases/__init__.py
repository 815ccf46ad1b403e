"""The use cases: one class each, ports in ``__init__``, one async ``execute`` method."""

from voiceauth_core.use_cases.enroll import Enroll, EnrollmentResult
from voiceauth_core.use_cases.users import (
    AuthHistory,
    DeleteUser,
    GetUser,
    ListUsers,
    RecentAttempts,
)
from voiceauth_core.use_cases.verify import CapturePlan, VerificationResult, Verify

__all__ = [
    "AuthHistory",
    "CapturePlan",
    "DeleteUser",
    "Enroll",
    "EnrollmentResult",
    "GetUser",
    "ListUsers",
    "RecentAttempts",
    "VerificationResult",
    "Verify",
]
