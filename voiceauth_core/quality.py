"""The quality gate: what a recording must be before its voice is trusted."""

from __future__ import annotations

from dataclasses import dataclass

from voiceauth_core.audio import Audio
from voiceauth_core.enrollment import Enrollment
from voiceauth_core.errors import AudioProcessingError, InvalidInputError

__all__ = ["QualityGate"]


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityGate:
    """Limits on recordings and on the net speech they carry.

    Args:
        max_duration_s: Longest recording accepted (``MAX_AUDIO_DURATION``).
        min_duration_s: Shortest recording worth looking at.
        silence_rms: Below this RMS level (about -70 dBFS) a recording is silent.
        max_clipped_fraction: Above this fraction of full-scale samples a recording is clipped.
        min_enroll_speech_s: Net speech an enrolment sample needs.
        strong_enroll_speech_s: Net speech over all samples at which an enrolment is strong enough.
        min_verify_speech_s: Net speech below which a verification is ``NOT_ENOUGH_SPEECH``.
    """

    max_duration_s: float = 30.0
    min_duration_s: float = 0.3
    silence_rms: float = 3e-4
    max_clipped_fraction: float = 0.02
    min_enroll_speech_s: float = 3.0
    strong_enroll_speech_s: float = 10.0
    min_verify_speech_s: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.min_duration_s < self.max_duration_s:
            raise InvalidInputError("durations must satisfy 0 < minimum < maximum")
        if self.min_enroll_speech_s <= 0 or self.min_verify_speech_s <= 0:
            raise InvalidInputError("speech minimums must be positive")

    def check_recording(self, audio: Audio) -> None:
        """Refuse empty, too short, too long, silent or clipped recordings.

        Raises:
            AudioProcessingError: With ``reason`` ``empty``, ``too_short``, ``too_long``,
                ``silent`` or ``clipped``.
        """
        if len(audio.samples) == 0:
            raise AudioProcessingError("the audio is empty", reason="empty")
        if audio.duration > self.max_duration_s:
            raise AudioProcessingError(
                f"the audio lasts {audio.duration:.1f} s; "
                f"at most {self.max_duration_s:g} s is accepted",
                reason="too_long",
            )
        if audio.duration < self.min_duration_s:
            raise AudioProcessingError(
                f"the audio lasts {audio.duration:.2f} s; "
                f"at least {self.min_duration_s:g} s is needed",
                reason="too_short",
            )
        if audio.rms() < self.silence_rms:
            raise AudioProcessingError("the audio is silent", reason="silent")
        if audio.clipped_fraction() > self.max_clipped_fraction:
            raise AudioProcessingError(
                "the audio is clipped (too loud); record again at a lower level", reason="clipped"
            )

    def check_enrollment_speech(self, speech_seconds: float) -> None:
        """Refuse an enrolment sample with too little net speech.

        Raises:
            AudioProcessingError: With ``reason`` ``not_enough_speech``.
        """
        if speech_seconds < self.min_enroll_speech_s:
            raise AudioProcessingError(
                f"the sample has {speech_seconds:.1f} s of speech; an enrolment sample needs "
                f"at least {self.min_enroll_speech_s:g} s",
                reason="not_enough_speech",
            )

    def strong_enough(self, enrollment: Enrollment) -> bool:
        """Whether an enrolment's net speech, over all its samples, makes it strong enough."""
        return enrollment.speech_seconds >= self.strong_enroll_speech_s
