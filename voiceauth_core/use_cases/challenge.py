"""The liveness challenge's use cases: issue one, and redeem one into a check of the answer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from dataclasses import replace

from voiceauth_core.audio import Audio
from voiceauth_core.challenge import (
    Challenge,
    ChallengeFailure,
    ChallengeOutcome,
    ChallengeRule,
)
from voiceauth_core.errors import InvalidInputError, UserNotFoundError
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.ports import AudioSource, ChallengeStore, Clock, DigitRecognizer, UserRepository

__all__ = ["AnswerCheck", "IssueChallenge", "RecordingSource", "RedeemChallenge"]


class RecordingSource:
    """An ``AudioSource`` that keeps a copy of all it delivers, for a second listener.

    Args:
        source: The source heard.
    """

    def __init__(self, source: AudioSource) -> None:
        self._source = source
        self._chunks: list[Audio] = []

    @property
    def channel(self) -> str:
        """The wrapped source's channel."""
        return self._source.channel

    @property
    def live(self) -> bool:
        """Whether the wrapped source is live."""
        return self._source.live

    @property
    def recorded(self) -> Audio | None:
        """All audio delivered so far, end to end (None before any)."""
        return Audio.concatenate(self._chunks) if self._chunks else None

    async def fetch(self) -> Audio:
        """The whole recording, kept."""
        audio = await self._source.fetch()
        self._chunks = [audio]
        return audio

    async def stream(self) -> AsyncGenerator[Audio, None]:
        """The recording's chunks, each kept as it passes."""
        stream = self._source.stream()
        try:
            async for chunk in stream:
                self._chunks.append(chunk)
                yield chunk
        finally:
            await stream.aclose()


class AnswerCheck:
    """One redeemed challenge: records what the verification hears, then judges it.

    ``Verify`` hears the caller through :meth:`listen`, so that the digits are checked on the
    very audio the voice was verified on.

    Args:
        challenge: The redeemed challenge.
        rule: Judges the answer.
        recognizer: Hears the digits.
    """

    def __init__(
        self, *, challenge: Challenge, rule: ChallengeRule, recognizer: DigitRecognizer
    ) -> None:
        self.challenge = challenge
        self._rule = rule
        self._recognizer = recognizer
        self._recording: RecordingSource | None = None

    def listen(self, source: AudioSource) -> AudioSource:
        """``source``, recorded for :meth:`judge`."""
        self._recording = RecordingSource(source)
        return self._recording

    async def judge(self) -> ChallengeOutcome:
        """Whether the recorded answer says the challenge's digits, in time."""
        return await self.judge_audio(
            self._recording.recorded if self._recording is not None else None
        )

    async def judge_audio(self, audio: Audio | None) -> ChallengeOutcome:
        """Whether ``audio`` (heard from when the question ended) says the digits, in time.

        For a caller that holds the answer itself, such as a VAPI call's session.
        """
        if audio is None or audio.duration == 0.0:
            return ChallengeOutcome(
                passed=False,
                heard="",
                distance=len(self.challenge.digits),
                start_s=None,
                failure=ChallengeFailure.NO_DIGITS,
            )
        heard = await self._recognizer.hear_digits(audio)
        return self._rule.judge(self.challenge, heard)


class IssueChallenge:
    """Issue a fresh challenge to an enrolled user, optionally bound to one call."""

    def __init__(
        self,
        *,
        users: UserRepository,
        challenges: ChallengeStore,
        clock: Clock,
        rule: ChallengeRule,
    ) -> None:
        self._users = users
        self._challenges = challenges
        self._clock = clock
        self._rule = rule

    async def execute(
        self,
        *,
        user_id: UserId | None = None,
        phone: PhoneNumber | None = None,
        call_id: str | None = None,
    ) -> Challenge:
        """A new, stored challenge for the user (or the user enrolled with ``phone``).

        Raises:
            InvalidInputError: Neither a user nor a phone is given; the call id is empty or too
                long.
            UserNotFoundError: The user has no enrolment.
            StorageUnavailableError: The store is unreachable.
        """
        if user_id is not None:
            enrollment = await self._users.get(user_id)
        elif phone is not None:
            enrollment = await self._users.find_by_phone(phone)
        else:
            raise InvalidInputError("give a userId or a phone number")
        if enrollment is None:
            who = f"user {user_id}" if user_id is not None else "the phone number's user"
            raise UserNotFoundError(f"{who} is not enrolled")
        challenge = self._rule.issue(enrollment.user_id, call_id=call_id, now=self._clock.now())
        await self._challenges.issue(challenge)
        return challenge


class RedeemChallenge:
    """Use up a challenge (whatever the answer will be) and return the check of its answer."""

    def __init__(
        self,
        *,
        challenges: ChallengeStore,
        recognizer: DigitRecognizer,
        clock: Clock,
        rule: ChallengeRule,
    ) -> None:
        self._challenges = challenges
        self._recognizer = recognizer
        self._clock = clock
        self._rule = rule

    async def execute(
        self,
        *,
        challenge_id: uuid.UUID,
        user_id: UserId,
        call_id: str | None = None,
        extra_delay_s: float = 0.0,
    ) -> AnswerCheck:
        """The check for the answer to this user's open challenge, which is now used.

        ``extra_delay_s`` is added to the rule's latest answer start, for answer audio that
        begins before the question ended (the question's reading is then heard in it): a VAPI
        call whose assistant's end of speech was not reported.

        Raises:
            InvalidInputError: ``extra_delay_s`` is negative.
            ChallengeError: Unknown, another user's or call's, expired or used.
            StorageUnavailableError: The store is unreachable.
        """
        if extra_delay_s < 0:
            raise InvalidInputError("an answer's extra delay cannot be negative")
        challenge = await self._challenges.redeem(
            challenge_id, user_id=user_id, call_id=call_id, now=self._clock.now()
        )
        rule = self._rule
        if extra_delay_s:
            rule = replace(rule, max_answer_delay_s=rule.max_answer_delay_s + extra_delay_s)
        return AnswerCheck(challenge=challenge, rule=rule, recognizer=self._recognizer)
