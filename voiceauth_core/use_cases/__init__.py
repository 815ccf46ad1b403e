"""The use cases: one class each, ports in ``__init__``, one async ``execute`` method."""

from voiceauth_core.use_cases.challenge import AnswerCheck, IssueChallenge, RedeemChallenge
from voiceauth_core.use_cases.enroll import Enroll, EnrollmentResult
from voiceauth_core.use_cases.identify import Identify, sync_index
from voiceauth_core.use_cases.users import (
    AuthHistory,
    DeleteUser,
    GetUser,
    ListUsers,
    RecentAttempts,
)
from voiceauth_core.use_cases.verify import CapturePlan, VerificationResult, Verify
from voiceauth_core.use_cases.watchlist import (
    AddToWatchlist,
    DeleteWatchlistEntry,
    GetWatchlistEntry,
    ListWatchlist,
    ReportFraud,
)

__all__ = [
    "AddToWatchlist",
    "AnswerCheck",
    "AuthHistory",
    "CapturePlan",
    "DeleteUser",
    "DeleteWatchlistEntry",
    "Enroll",
    "EnrollmentResult",
    "GetUser",
    "GetWatchlistEntry",
    "Identify",
    "IssueChallenge",
    "ListUsers",
    "ListWatchlist",
    "RecentAttempts",
    "RedeemChallenge",
    "ReportFraud",
    "VerificationResult",
    "Verify",
    "sync_index",
]
