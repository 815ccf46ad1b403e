"""Request guards: the media types a route accepts (415 otherwise)."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from voiceauth_web.error_responses import ApiError

__all__ = ["AUDIO_TYPES", "require_json", "require_multipart", "uploaded_audio_type"]

AUDIO_TYPES = ("audio/", "video/", "application/octet-stream")


def require_json(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse a body that is not JSON."""
    if not connection.headers.get("content-type", "").lower().startswith("application/json"):
        raise ApiError(415, "UnsupportedMediaType", "send the request body as application/json")


def require_multipart(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse a body that is not a multipart form."""
    if not connection.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ApiError(
            415, "UnsupportedMediaType", "upload the audio as multipart/form-data, field `file`"
        )


def uploaded_audio_type(content_type: str | None) -> str | None:
    """The upload's declared type if it may be audio; 415 if it plainly is not."""
    kind = (content_type or "application/octet-stream").lower()
    if not kind.startswith(AUDIO_TYPES):
        raise ApiError(
            415, "UnsupportedMediaType", f"an audio file is expected, not {kind.split(';')[0]}"
        )
    return None if kind.startswith("application/octet-stream") else kind
