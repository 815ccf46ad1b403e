"""The HTTP routes; handlers decode, call one use case, and encode."""

from voiceauth_web.routes.challenges import issue_challenge
from voiceauth_web.routes.enrollment import enroll_from_url, enroll_upload
from voiceauth_web.routes.health import docs, health, healthz, metrics_text
from voiceauth_web.routes.identification import identify_caller
from voiceauth_web.routes.users import (
    auth_history,
    erase_user,
    list_users,
    read_user,
    recent_attempts,
)
from voiceauth_web.routes.vapi import server_messages
from voiceauth_web.routes.verification import verify_listen_url, verify_upload
from voiceauth_web.routes.watchlist import (
    add_to_watchlist,
    delete_watchlist_entry,
    list_watchlist,
    read_watchlist_entry,
    report_fraud,
)

__all__ = ["HANDLERS"]

from litestar.openapi.datastructures import ResponseSpec

from voiceauth_web.schemas import ErrorOut

# Every error the shell can send has the original service's shape: the OpenAPI document says so.
_ERRORS = {
    status: ResponseSpec(data_container=ErrorOut, description=description)
    for status, description in {
        400: "ValidationError or AudioDownloadError",
        401: "AuthenticationError",
        403: "PermissionDenied",
        404: "UserNotFoundError, NotFoundError or NotFound",
        409: "PhoneNumberInUseError, ModelMismatchError or ChallengeError",
        413: "PayloadTooLarge",
        415: "UnsupportedMediaType",
        422: "AudioProcessingError or CaptureError (no speech)",
        429: "RateLimitExceeded",
        500: "InternalServerError or TemplateProtectionError (a stored voiceprint unreadable)",
        502: "CaptureError (the call's audio socket failed)",
        503: "StorageUnavailableError or ServiceBusyError",
    }.items()
}

HANDLERS = [
    healthz,
    health,
    metrics_text,
    docs,
    enroll_from_url,
    enroll_upload,
    verify_listen_url,
    verify_upload,
    issue_challenge,
    identify_caller,
    list_users,
    read_user,
    erase_user,
    auth_history,
    recent_attempts,
    server_messages,
    report_fraud,
    add_to_watchlist,
    list_watchlist,
    read_watchlist_entry,
    delete_watchlist_entry,
]

for _handler in HANDLERS:
    _handler.responses = {**_ERRORS, **(_handler.responses or {})}
