"""Enrolment: from an audio URL (the original endpoint) or an uploaded file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from voiceauth_adapters.http import AudioSourceFactory
from voiceauth_core import Enroll, PhoneNumber, UserId
from voiceauth_web.instrumented import InstrumentedSource
from voiceauth_web.observability import Metrics
from voiceauth_web.presenters import enrollment_out
from voiceauth_web.routes.guards import require_json, require_multipart, uploaded_audio_type
from voiceauth_web.schemas import EnrollmentOut, EnrollUserRequest

__all__ = ["EnrollmentForm", "enroll_from_url", "enroll_upload"]


@dataclass
class EnrollmentForm:
    """The multipart form of an enrolment upload."""

    file: UploadFile
    phone: str | None = None
    replace: bool = False


@post("/api/v1/enroll-user", status_code=200, guards=[require_json], tags=["enrolment"])
async def enroll_from_url(
    data: EnrollUserRequest, enroll: Enroll, sources: AudioSourceFactory, metrics: Metrics
) -> EnrollmentOut:
    """Enrol (or add a sample for) a user from an audio file at a URL."""
    phone = PhoneNumber.parse(data.phone) if data.phone else None
    result = await enroll.execute(
        user_id=UserId.parse(data.userId),
        phone=phone,
        source=InstrumentedSource(sources.from_url(data.audioUrl)),
        replace=data.replace,
    )
    metrics.enrollments.labels("url").inc()
    return enrollment_out(result)


@post(
    "/api/v1/users/{user_id:str}/enrollments",
    status_code=200,
    guards=[require_multipart],
    tags=["enrolment"],
)
async def enroll_upload(
    user_id: str,
    data: Annotated[EnrollmentForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    enroll: Enroll,
    sources: AudioSourceFactory,
    metrics: Metrics,
) -> EnrollmentOut:
    """Add an uploaded sample to a user's enrolment (``replace`` starts it afresh)."""
    user = UserId.parse(user_id)
    phone = PhoneNumber.parse(data.phone) if data.phone else None
    content_type = uploaded_audio_type(data.file.content_type)
    audio = await data.file.read()
    result = await enroll.execute(
        user_id=user,
        phone=phone,
        source=InstrumentedSource(sources.from_upload(audio, content_type=content_type)),
        replace=data.replace,
    )
    metrics.enrollments.labels("upload").inc()
    return enrollment_out(result)
