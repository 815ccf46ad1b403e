"""Domain results as wire Structs; the sentences a caller or an assistant is told."""

from __future__ import annotations

from voiceauth_core import (
    Attempt,
    Decision,
    Enrollment,
    EnrollmentResult,
    QualityGate,
    VerificationResult,
)
from voiceauth_web.schemas import AttemptOut, EnrollmentOut, UserOut, VerifyResponse

__all__ = ["MESSAGES", "attempt_out", "enrollment_out", "user_out", "verify_out"]

#: What each decision tells the caller of the API, and the VAPI assistant.
MESSAGES = {
    Decision.ACCEPT: "Voice verified: the caller matches the account holder.",
    Decision.REJECT: "Voice not verified: the caller does not match the account holder.",
    Decision.STEP_UP: (
        "Voice matches, but the audio may be synthetic or recorded: confirm the caller with "
        "another factor, such as a one-time code or a call back to the number on file."
    ),
    Decision.NOT_ENOUGH_SPEECH: (
        "Not enough speech: ask the caller to say a sentence or two, then check again."
    ),
    Decision.ERROR: "Voice check unavailable: the caller's audio could not be heard.",
}


def enrollment_out(result: EnrollmentResult) -> EnrollmentOut:
    """An enrolment sample's outcome."""
    enrollment = result.enrollment
    return EnrollmentOut(
        userId=str(enrollment.user_id),
        sampleCount=enrollment.sample_count,
        speechSeconds=round(enrollment.speech_seconds, 3),
        sampleSpeechSeconds=round(result.sample_speech_seconds, 3),
        strongEnough=result.strong_enough,
        modelId=enrollment.model_id,
        phoneBandVoiceprint=enrollment.phone_band_sum is not None,
    )


def user_out(enrollment: Enrollment, *, gate: QualityGate) -> UserOut:
    """A user without the voiceprint, phone masked; ``gate`` judges whether it is strong enough."""
    return UserOut(
        userId=str(enrollment.user_id),
        phone=enrollment.phone.masked() if enrollment.phone else None,
        sampleCount=enrollment.sample_count,
        speechSeconds=round(enrollment.speech_seconds, 3),
        strongEnough=gate.strong_enough(enrollment),
        modelId=enrollment.model_id,
        enrolledAt=enrollment.enrolled_at,
        updatedAt=enrollment.updated_at,
        phoneBandVoiceprint=enrollment.phone_band_sum is not None,
    )


def attempt_out(attempt: Attempt) -> AttemptOut:
    """One logged attempt."""
    return AttemptOut(
        id=str(attempt.id),
        success=attempt.success,
        score=attempt.score,
        created_at=attempt.created_at,
        decision=attempt.decision.value,
        rawScore=attempt.raw_score,
        speechSeconds=attempt.speech_seconds,
        channel=attempt.channel,
        userId=str(attempt.user_id),
        error=attempt.error,
        spoofScore=attempt.spoof_score,
        spoofRisk=attempt.spoof_risk.value if attempt.spoof_risk else None,
    )


def verify_out(result: VerificationResult, *, threshold: float) -> VerifyResponse:
    """A verification's outcome; ``score`` is 0.0 when there was nothing to score."""
    score = result.score
    return VerifyResponse(
        success=result.attempt.success,
        message=MESSAGES[result.decision],
        score=round(score.calibrated, 4) if score else 0.0,
        decision=result.decision.value,
        rawScore=round(score.raw, 4) if score else None,
        speechSeconds=round(result.speech_seconds, 3),
        threshold=threshold,
        attemptId=str(result.attempt.id),
        audioSeconds=round(result.audio_seconds, 3),
        spoofScore=result.attempt.spoof_score,
        spoofRisk=result.attempt.spoof_risk.value if result.attempt.spoof_risk else None,
    )
