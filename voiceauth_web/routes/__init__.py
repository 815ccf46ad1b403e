"""The HTTP routes; handlers decode, call one use case, and encode."""

from voiceauth_web.routes.enrollment import enroll_from_url, enroll_upload
from voiceauth_web.routes.health import docs, health, healthz, metrics_text
from voiceauth_web.routes.users import (
    auth_history,
    erase_user,
    list_users,
    read_user,
    recent_attempts,
)
from voiceauth_web.routes.vapi import tool_calls
from voiceauth_web.routes.verification import verify_listen_url, verify_upload

__all__ = ["HANDLERS"]

HANDLERS = [
    healthz,
    health,
    metrics_text,
    docs,
    enroll_from_url,
    enroll_upload,
    verify_listen_url,
    verify_upload,
    list_users,
    read_user,
    erase_user,
    auth_history,
    recent_attempts,
    tool_calls,
]
