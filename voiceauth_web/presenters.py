"""Domain results as wire Structs; the sentences a caller or an assistant is told."""

from __future__ import annotations

import msgspec

from voiceauth_core import (
    Attempt,
    Decision,
    Enrollment,
    EnrollmentResult,
    Identification,
    IdentificationOutcome,
    QualityGate,
    VerificationResult,
    WatchlistEntry,
    WatchlistMatch,
)
from voiceauth_core.challenge import Challenge, ChallengeFailure, ChallengeOutcome, spoken_phrase
from voiceauth_web.schemas import (
    AttemptOut,
    ChallengeOut,
    ChallengeResultOut,
    EnrollmentOut,
    IdentifyCandidateOut,
    IdentifyResponse,
    IdentifyWatchlistOut,
    UserOut,
    VerifyResponse,
    WatchlistEntryOut,
    WatchlistMatchOut,
)

__all__ = [
    "CHALLENGE_MESSAGES",
    "IDENTIFY_MESSAGES",
    "MESSAGES",
    "WATCHLIST_MESSAGE",
    "attempt_out",
    "challenge_out",
    "challenge_result_out",
    "enrollment_out",
    "identification_out",
    "user_out",
    "verify_out",
    "verify_sentence",
    "watchlist_entry_out",
    "watchlist_match_out",
]

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
        watchlist=watchlist_match_out(result.watchlist),
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
        watchlist=watchlist_match_out(attempt.watchlist),
        challenge=attempt.challenge.value if attempt.challenge else None,
        challengeDelaySeconds=attempt.challenge_delay_s,
    )


#: What a caller rejected because their voice matched the fraud watchlist tells the API's caller
#: and the VAPI assistant (``VOICEAUTH_WATCHLIST_ACTION=reject``): never the entry's label.
WATCHLIST_MESSAGE = (
    "Voice not verified: the voice matches a reported fraud case. Do not proceed with the "
    "request; transfer the call to the fraud team."
)


#: What a failed liveness challenge tells the caller of the API, and the VAPI assistant.
CHALLENGE_MESSAGES = {
    ChallengeFailure.NO_DIGITS: (
        "Liveness check failed: no digits were heard. Ask for a new challenge and have the "
        "caller say its digits."
    ),
    ChallengeFailure.WRONG_DIGITS: (
        "Liveness check failed: the caller did not say the digits asked for. Ask for a new "
        "challenge and try once more; if it fails again, use another factor."
    ),
    ChallengeFailure.LATE_ANSWER: (
        "Liveness check failed: the answer began too late after the question. Ask for a new "
        "challenge and try once more; if it fails again, use another factor."
    ),
}


def verify_sentence(result: VerificationResult) -> str:
    """What a verification tells the caller of the API, and the VAPI assistant: the decision's
    sentence, or :data:`WATCHLIST_MESSAGE` for a reject with a watchlist match, or the failed
    liveness challenge's (:data:`CHALLENGE_MESSAGES`)."""
    if result.decision is Decision.REJECT and result.attempt.watchlist is not None:
        return WATCHLIST_MESSAGE
    outcome = result.challenge
    if outcome is not None and outcome.failure is not None and result.decision is Decision.REJECT:
        return CHALLENGE_MESSAGES[outcome.failure]
    return MESSAGES[result.decision]


def challenge_out(challenge: Challenge) -> ChallengeOut:
    """A new challenge, with the sentence an assistant reads out."""
    return ChallengeOut(
        challengeId=str(challenge.id),
        digits=challenge.digits,
        phrase=spoken_phrase(challenge.digits),
        expiresAt=challenge.expires_at,
    )


def challenge_result_out(outcome: ChallengeOutcome) -> ChallengeResultOut:
    """Whether the answer passed; the digits heard and the reason only when it did not."""
    if outcome.passed:
        return ChallengeResultOut(passed=True)
    return ChallengeResultOut(
        passed=False,
        heard=outcome.heard,
        reason=outcome.failure.value if outcome.failure else None,
    )


def watchlist_match_out(match: WatchlistMatch | None) -> WatchlistMatchOut | None:
    """A watchlist match as responses carry it, or None."""
    if match is None:
        return None
    return WatchlistMatchOut(entryId=str(match.entry_id), label=match.label, score=match.score)


def watchlist_entry_out(entry: WatchlistEntry) -> WatchlistEntryOut:
    """A watchlist entry without its voice."""
    return WatchlistEntryOut(
        entryId=str(entry.id),
        label=entry.label,
        note=entry.note,
        source=entry.source,
        modelId=entry.embedding.model_id,
        createdAt=entry.created_at,
    )


def verify_out(result: VerificationResult, *, threshold: float) -> VerifyResponse:
    """A verification's outcome; ``score`` is 0.0 when there was nothing to score."""
    score = result.score
    return VerifyResponse(
        success=result.attempt.success,
        message=verify_sentence(result),
        score=round(score.calibrated, 4) if score else 0.0,
        decision=result.decision.value,
        rawScore=round(score.raw, 4) if score else None,
        speechSeconds=round(result.speech_seconds, 3),
        threshold=threshold,
        attemptId=str(result.attempt.id),
        audioSeconds=round(result.audio_seconds, 3),
        spoofScore=result.attempt.spoof_score,
        spoofRisk=result.attempt.spoof_risk.value if result.attempt.spoof_risk else None,
        watchlist=watchlist_match_out(result.attempt.watchlist),
        challenge=(
            msgspec.UNSET if result.challenge is None else challenge_result_out(result.challenge)
        ),
    )


#: What each identification outcome tells the caller of the API.
IDENTIFY_MESSAGES = {
    IdentificationOutcome.MATCH: "Caller identified: the voice matches one enrolled user.",
    IdentificationOutcome.NO_MATCH: (
        "Caller not identified: the voice matches none of the enrolled users closely enough."
    ),
    IdentificationOutcome.NOT_ENOUGH_SPEECH: (
        "Not enough speech: ask the caller to say a sentence or two, then identify again."
    ),
}


def identification_out(result: Identification, *, threshold: float) -> IdentifyResponse:
    """An identification's outcome, best candidate first."""
    flagged = result.watchlist
    return IdentifyResponse(
        candidates=[
            IdentifyCandidateOut(
                userId=str(candidate.user_id),
                score=round(candidate.score.calibrated, 4),
                rawScore=round(candidate.score.raw, 4),
                confidence=round(candidate.confidence, 4),
            )
            for candidate in result.candidates
        ],
        match=str(result.match) if result.match is not None else None,
        outcome=result.outcome.value,
        message=IDENTIFY_MESSAGES[result.outcome],
        confidence=round(result.confidence, 4),
        falseMatchProbability=round(result.false_match_probability, 4),
        gallerySize=result.gallery_size,
        threshold=threshold,
        speechSeconds=result.speech_seconds,
        audioSeconds=result.audio_seconds,
        watchlist=(
            IdentifyWatchlistOut(
                entryId=str(flagged.entry_id), label=flagged.label, score=round(flagged.score, 4)
            )
            if flagged is not None
            else None
        ),
    )
