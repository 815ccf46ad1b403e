"""The one place errors become HTTP: status codes and the original service's error JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from loguru import logger

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
from voiceauth_web.correlation import HEADER, correlation_id, new_correlation_id
from voiceauth_web.schemas import ErrorOut

__all__ = [
    "ApiError",
    "error_response",
    "handle_exception",
    "log_failure",
    "public_message",
    "status_of",
]

_STATUS: dict[type[VoiceAuthError], int] = {
    InvalidInputError: 400,
    AudioDownloadError: 400,
    AudioProcessingError: 422,
    UserNotFoundError: 404,
    NotFoundError: 404,
    PhoneNumberInUseError: 409,
    ModelMismatchError: 409,
    # A challenge that is unknown, another's, expired or used: ask for a new one.
    ChallengeError: 409,
    StorageUnavailableError: 503,
    ServiceBusyError: 503,
    TemplateProtectionError: 500,
}
# Errors only the operator can fix. The caller gets a fixed sentence: the error's own message
# names the key id and the variable, which help an operator and tell a caller (or an attacker
# probing users) how the templates are protected and which key is missing. The log gets that
# message at ERROR, for an alert; it never holds key material (key ids are hashes) nor a vector.
_OPERATOR_ERRORS: dict[type[VoiceAuthError], str] = {
    TemplateProtectionError: "a stored voiceprint cannot be read; retrying will not help",
}
# Litestar's own HTTP errors, by status, named as clients see them.
_HTTP_NAMES = {
    400: "ValidationError",
    401: "AuthenticationError",
    403: "PermissionDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "RateLimitExceeded",
    503: "ServiceUnavailable",
}


class ApiError(HTTPException):
    """An HTTP error raised by the shell itself (auth, media type, rate limit)."""

    def __init__(self, status_code: int, name: str, message: str) -> None:
        super().__init__(status_code=status_code, detail=message)
        self.name = name
        self.message = message


def status_of(exc: VoiceAuthError) -> int:
    """The HTTP status of a core error."""
    if isinstance(exc, CaptureError):
        # The caller not speaking is about the audio; anything else is the call's socket failing.
        return 422 if exc.reason == "no_speech" else 502
    for kind in type(exc).__mro__:
        if kind in _STATUS:
            return _STATUS[kind]
    return 500


def _operator_sentence(exc: VoiceAuthError) -> str | None:
    return next((text for kind, text in _OPERATOR_ERRORS.items() if isinstance(exc, kind)), None)


def public_message(exc: VoiceAuthError) -> str:
    """What the caller is told about ``exc``: its message, or a fixed sentence for an operator's
    error (:data:`_OPERATOR_ERRORS`)."""
    sentence = _operator_sentence(exc)
    return exc.message if sentence is None else sentence


def log_failure(exc: VoiceAuthError, what: str, **fields: object) -> None:
    """Log a core error that ended ``what``: at INFO, or at ERROR when the operator must act."""
    level = "INFO" if _operator_sentence(exc) is None else "ERROR"
    logger.bind(error=exc.name, **fields).log(level, "{}: {}", what, exc.message)


def error_response(
    status: int, name: str, message: str, *, offered_id: str | None = None
) -> Response[ErrorOut]:
    """The error JSON, with the correlation id, at the top level.

    Outside the request middleware (a path no route matches) there is no correlation id yet:
    one is made here and sent in ``X-Call-ID`` too.
    """
    current = correlation_id()
    cid = current or new_correlation_id(offered_id)
    body = ErrorOut(
        error=name, message=message, correlation_id=cid, timestamp=datetime.now(UTC).isoformat()
    )
    headers = {"Retry-After": "60"} if status in (429, 503) else {}
    if not current:
        headers[HEADER] = cid
    return Response(content=body, status_code=status, headers=headers or None)


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorOut]:
    """Map any exception to the error JSON; never a stack trace or a driver message."""
    if isinstance(exc, VoiceAuthError):
        status = status_of(exc)
        name = "ValidationError" if isinstance(exc, InvalidInputError) else exc.name
        log_failure(exc, "request failed", status=status)
        return error_response(status, name, public_message(exc))
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.name, exc.message)
    if isinstance(exc, ValidationException):
        details = exc.extra if isinstance(exc.extra, list) else []
        fields = ", ".join(
            str(item.get("key") or item.get("message"))
            for item in details
            if isinstance(item, dict)
        )
        message = f"invalid request: {fields}" if fields else "invalid request body or parameters"
        return error_response(400, "ValidationError", message)
    if isinstance(exc, HTTPException):
        status = exc.status_code
        name = _HTTP_NAMES.get(status, "HTTPError")
        message = exc.detail if status < 500 else "the service cannot answer right now"
        return error_response(status, name, str(message), offered_id=request.headers.get(HEADER))
    logger.opt(exception=exc).error("unhandled error on {} {}", request.method, request.url.path)
    return error_response(500, "InternalServerError", "an internal error occurred")
