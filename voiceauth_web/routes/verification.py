"""Verification: of a live VAPI call (the original endpoint) or of an uploaded file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from voiceauth_adapters.http import AudioSourceFactory
from voiceauth_core import PhoneNumber, UserId, VerificationResult, Verify
from voiceauth_core.ports import AudioSource
from voiceauth_web.correlation import correlation_id
from voiceauth_web.instrumented import InstrumentedSource
from voiceauth_web.observability import Metrics
from voiceauth_web.presenters import verify_out
from voiceauth_web.routes.guards import require_json, require_multipart, uploaded_audio_type
from voiceauth_web.routes.injected import CallListener
from voiceauth_web.schemas import VerifyPasswordRequest, VerifyResponse
from voiceauth_web.settings import Settings

__all__ = ["VerificationForm", "observe", "verify_listen_url", "verify_upload"]


@dataclass
class VerificationForm:
    """The multipart form of a verification upload."""

    file: UploadFile


def observe(metrics: Metrics, result: VerificationResult, channel: str) -> None:
    """Count a verification in the metrics."""
    metrics.verifications.labels(result.decision.value, channel).inc()
    metrics.capture.observe(result.speech_seconds)
    if result.score is not None:
        metrics.scores.observe(result.score.calibrated)
    attempt = result.attempt
    if attempt.spoof_score is not None and attempt.spoof_risk is not None:
        metrics.spoof.labels(attempt.spoof_risk.value).observe(attempt.spoof_score)


@post("/api/v1/verify-password", status_code=200, guards=[require_json], tags=["verification"])
async def verify_listen_url(
    data: VerifyPasswordRequest,
    verify: Verify,
    listener: CallListener,
    metrics: Metrics,
    settings: Settings,
) -> VerifyResponse:
    """Listen to the live call at ``listenUrl`` and verify the caller against the user."""
    source: AudioSource = InstrumentedSource(listener.source(data.listenUrl))
    result = await verify.execute(
        source=source,
        user_id=UserId.parse(data.userId) if data.userId else None,
        phone=PhoneNumber.parse(data.phone) if data.phone and not data.userId else None,
        correlation_id=correlation_id(),
    )
    observe(metrics, result, source.channel)
    return verify_out(result, threshold=settings.voice_threshold)


@post(
    "/api/v1/users/{user_id:str}/verifications",
    status_code=200,
    guards=[require_multipart],
    tags=["verification"],
)
async def verify_upload(
    user_id: str,
    data: Annotated[VerificationForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    verify: Verify,
    sources: AudioSourceFactory,
    metrics: Metrics,
    settings: Settings,
) -> VerifyResponse:
    """Verify the speaker of an uploaded recording against the user."""
    user = UserId.parse(user_id)
    content_type = uploaded_audio_type(data.file.content_type)
    audio = await data.file.read()
    source = InstrumentedSource(sources.from_upload(audio, content_type=content_type))
    result = await verify.execute(source=source, user_id=user, correlation_id=correlation_id())
    observe(metrics, result, source.channel)
    return verify_out(result, threshold=settings.voice_threshold)
