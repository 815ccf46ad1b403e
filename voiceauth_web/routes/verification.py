"""Verification: of a live VAPI call (the original endpoint) or of an uploaded file."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from litestar import post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from voiceauth_adapters.http import AudioSourceFactory
from voiceauth_core import InvalidInputError, PhoneNumber, UserId, VerificationResult, Verify
from voiceauth_core.ports import AudioSource
from voiceauth_core.use_cases import AnswerCheck, RedeemChallenge
from voiceauth_web.correlation import correlation_id
from voiceauth_web.instrumented import InstrumentedSource
from voiceauth_web.observability import Metrics
from voiceauth_web.presenters import verify_out
from voiceauth_web.routes.guards import require_json, require_multipart, uploaded_audio_type
from voiceauth_web.routes.injected import CallListener
from voiceauth_web.schemas import VerifyPasswordRequest, VerifyResponse
from voiceauth_web.settings import Settings

__all__ = ["VerificationForm", "answer_check", "observe", "verify_listen_url", "verify_upload"]


@dataclass
class VerificationForm:
    """The multipart form of a verification upload."""

    file: UploadFile
    #: The liveness challenge the recording answers (optional).
    challengeId: str | None = None  # noqa: N815 - the API's field names are camelCase


async def answer_check(
    redeem: RedeemChallenge, challenge_id: str | uuid.UUID | None, user: UserId | None
) -> AnswerCheck | None:
    """The redeemed challenge's check, or None without a challenge id.

    Raises:
        InvalidInputError: The id is malformed, or the user is named by phone only.
        ChallengeError: The challenge is unknown, another's, expired or used.
    """
    if challenge_id is None:
        return None
    if user is None:
        raise InvalidInputError("a challengeId is answered for a userId, not a phone number")
    try:
        parsed = challenge_id if isinstance(challenge_id, uuid.UUID) else uuid.UUID(challenge_id)
    except ValueError as exc:
        raise InvalidInputError("challengeId must be a UUID") from exc
    return await redeem.execute(challenge_id=parsed, user_id=user, call_id=None)


def observe(metrics: Metrics, result: VerificationResult, channel: str) -> None:
    """Count a verification in the metrics."""
    metrics.verifications.labels(result.decision.value, channel).inc()
    metrics.capture.observe(result.speech_seconds)
    if result.score is not None:
        metrics.scores.observe(result.score.calibrated)
    attempt = result.attempt
    if attempt.spoof_score is not None and attempt.spoof_risk is not None:
        metrics.spoof.labels(attempt.spoof_risk.value).observe(attempt.spoof_score)
    if attempt.challenge is not None:
        metrics.challenge_answers.labels(attempt.challenge.value).inc()


@post("/api/v1/verify-password", status_code=200, guards=[require_json], tags=["verification"])
async def verify_listen_url(
    data: VerifyPasswordRequest,
    verify: Verify,
    listener: CallListener,
    metrics: Metrics,
    settings: Settings,
    redeem_challenge: RedeemChallenge,
) -> VerifyResponse:
    """Listen to the live call at ``listenUrl`` and verify the caller against the user."""
    user = UserId.parse(data.userId) if data.userId else None
    check = await answer_check(redeem_challenge, data.challengeId, user)
    source: AudioSource = InstrumentedSource(listener.source(data.listenUrl))
    result = await verify.execute(
        source=source,
        user_id=user,
        phone=PhoneNumber.parse(data.phone) if data.phone and not data.userId else None,
        correlation_id=correlation_id(),
        challenge=check,
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
    redeem_challenge: RedeemChallenge,
) -> VerifyResponse:
    """Verify the speaker of an uploaded recording against the user."""
    user = UserId.parse(user_id)
    content_type = uploaded_audio_type(data.file.content_type)
    check = await answer_check(redeem_challenge, data.challengeId, user)
    audio = await data.file.read()
    source = InstrumentedSource(sources.from_upload(audio, content_type=content_type))
    result = await verify.execute(
        source=source, user_id=user, correlation_id=correlation_id(), challenge=check
    )
    observe(metrics, result, source.channel)
    return verify_out(result, threshold=settings.voice_threshold)
