"""Identification (1:N): which enrolled user speaks, from an upload, an audio URL or a live call."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, post
from litestar.datastructures import UploadFile

from voiceauth_adapters.http import AudioSourceFactory
from voiceauth_core import Identify
from voiceauth_core.ports import AudioSource
from voiceauth_web.error_responses import ApiError
from voiceauth_web.instrumented import InstrumentedSource
from voiceauth_web.presenters import identification_out
from voiceauth_web.routes.guards import uploaded_audio_type
from voiceauth_web.routes.injected import CallListener
from voiceauth_web.schemas import IdentifyRequest, IdentifyResponse
from voiceauth_web.settings import Settings

__all__ = ["MAX_CANDIDATES", "identify_caller"]

#: The most candidates one identification returns.
MAX_CANDIDATES = 20

_decoder = msgspec.json.Decoder(IdentifyRequest)


async def _source(
    request: Request[Any, Any, Any], sources: AudioSourceFactory, listener: CallListener
) -> tuple[AudioSource, int]:
    """The body's audio source and the number of candidates asked for."""
    kind = request.headers.get("content-type", "").lower()
    if kind.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "ValidationError", "upload the audio in the form field `file`")
        content_type = uploaded_audio_type(upload.content_type)
        source = sources.from_upload(await upload.read(), content_type=content_type)
        return source, _limit(form.get("limit", 5))
    if kind.startswith("application/json"):
        try:
            data = _decoder.decode(await request.body())
        except msgspec.DecodeError as exc:
            raise ApiError(400, "ValidationError", f"invalid body: {exc}") from exc
        if (data.audioUrl is None) == (data.listenUrl is None):
            raise ApiError(400, "ValidationError", "give exactly one of audioUrl or listenUrl")
        if data.listenUrl is not None:
            return listener.source(data.listenUrl), _limit(data.limit)
        return sources.from_url(data.audioUrl or ""), _limit(data.limit)
    raise ApiError(
        415,
        "UnsupportedMediaType",
        "send JSON (audioUrl or listenUrl) or a multipart/form-data upload, field `file`",
    )


def _limit(value: object) -> int:
    try:
        limit = int(str(value))
    except ValueError as exc:
        raise ApiError(400, "ValidationError", "limit must be a whole number") from exc
    if not 1 <= limit <= MAX_CANDIDATES:
        raise ApiError(400, "ValidationError", f"limit must lie in 1..{MAX_CANDIDATES}")
    return limit


@post("/api/v1/identify", status_code=200, tags=["identification"])
async def identify_caller(
    request: Request[Any, Any, Any],
    identify: Identify,
    sources: AudioSourceFactory,
    listener: CallListener,
    settings: Settings,
) -> IdentifyResponse:
    """Tell which enrolled users the caller's voice matches best, and whether it is any of them.

    The body is a verification's: a multipart upload (field ``file``, optional ``limit``), or
    JSON with ``audioUrl`` (a recording) or ``listenUrl`` (a live call) and optional ``limit``
    (1-20, default 5). ``candidates`` come best first, each with its verification score and
    its confidence: 1 - the chance that a stranger would score as high against someone in a
    gallery of ``gallerySize`` voices. ``match`` is the best one when a verification would accept
    it and that chance is at most ``VOICEAUTH_IDENTIFY_MAX_FALSE_MATCH``, else null.
    """
    source, limit = await _source(request, sources, listener)
    result = await identify.execute(source=InstrumentedSource(source), limit=limit)
    return identification_out(result, threshold=settings.voice_threshold)
