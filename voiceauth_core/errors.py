"""The one error tree of voiceauth; adapters translate foreign errors into it.

::

    VoiceAuthError
    ├── InvalidInputError            bad value from a caller (phone number, user id, option)
    ├── AudioDownloadError           the audio URL could not be fetched (status, size, SSRF)
    ├── AudioProcessingError         unusable audio: undecodable, short, long, silent, clipped
    ├── CaptureError                 the live call's audio could not be captured
    ├── UserNotFoundError            no enrolment for that user id or phone
    ├── NotFoundError                no such attempt or watchlist entry (or its voice is gone)
    ├── ChallengeError               a liveness challenge unknown, expired, used or another's
    ├── PhoneNumberInUseError        the phone number belongs to another enrolled user
    ├── ModelMismatchError           embeddings of different models compared or merged
    ├── StorageUnavailableError      the database is unreachable or failing
    ├── TemplateProtectionError      a stored voiceprint cannot be opened: key missing, or altered
    └── ServiceBusyError             the inference pool is saturated; retry later

Each class's ``name`` is what clients see in the error JSON. The first three names and
``UserNotFoundError`` are the original service's and must not change: clients match on them.
"""

from __future__ import annotations

__all__ = [
    "AudioDownloadError",
    "AudioProcessingError",
    "CaptureError",
    "ChallengeError",
    "InvalidInputError",
    "ModelMismatchError",
    "NotFoundError",
    "PhoneNumberInUseError",
    "ServiceBusyError",
    "StorageUnavailableError",
    "TemplateProtectionError",
    "UserNotFoundError",
    "VoiceAuthError",
]


class VoiceAuthError(Exception):
    """Base of every error voiceauth raises on purpose.

    Args:
        message: A sentence safe to show to the API's caller: no internal detail.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def name(self) -> str:
        """The error's public name, as clients match on it."""
        return type(self).__name__


class InvalidInputError(VoiceAuthError, ValueError):
    """A value given by the caller is malformed (a phone number, an id, an option)."""


class AudioDownloadError(VoiceAuthError):
    """The audio at a URL could not be fetched: status code, timeout, size, refused address."""


class AudioProcessingError(VoiceAuthError):
    """The audio is unusable: undecodable, too short or long, silent, clipped, too little speech.

    Args:
        message: What is wrong with the audio.
        reason: A short machine-readable reason (``undecodable``, ``too_long``, ``silent``, ...).
    """

    def __init__(self, message: str, *, reason: str = "unusable") -> None:
        super().__init__(message)
        self.reason = reason


class CaptureError(VoiceAuthError):
    """The caller's live audio could not be captured (refused, closed, timed out, no audio).

    Args:
        message: What went wrong.
        reason: A short machine-readable reason (``connect_failed``, ``timeout``, ...).
    """

    def __init__(self, message: str, *, reason: str = "capture_failed") -> None:
        super().__init__(message)
        self.reason = reason


class UserNotFoundError(VoiceAuthError):
    """No enrolment exists for the given user id or phone number."""


class NotFoundError(VoiceAuthError):
    """The attempt or watchlist entry asked for does not exist, or no longer keeps its voice."""


class ChallengeError(VoiceAuthError):
    """A liveness challenge cannot be answered: unknown (or another user's or call's), expired,
    or already used. A challenge is redeemed once, whatever the answer; ask for a new one.

    Args:
        message: What is wrong, without saying whether another user's challenge exists.
        reason: ``unknown``, ``expired`` or ``used``.
    """

    def __init__(self, message: str, *, reason: str = "unknown") -> None:
        super().__init__(message)
        self.reason = reason


class PhoneNumberInUseError(VoiceAuthError):
    """The phone number is already enrolled for another user."""


class ModelMismatchError(VoiceAuthError):
    """Two embeddings from different models met: they must never be compared or merged."""


class StorageUnavailableError(VoiceAuthError):
    """The database is unreachable or failing; the operation may be retried later."""


class TemplateProtectionError(VoiceAuthError):
    """A stored voiceprint is encrypted and cannot be opened; it is never used unverified.

    Its key is not configured (``VOICEAUTH_TEMPLATE_KEY`` unset, or without the older key that
    sealed it), or the value fails its integrity check: altered, or moved from another user's row
    or field. An operator's problem, not a caller's: the message names no secret.
    """


class ServiceBusyError(VoiceAuthError):
    """Every inference worker is busy and the wait for one ran out; retry later."""
