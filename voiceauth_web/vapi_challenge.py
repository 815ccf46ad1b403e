"""The spoken liveness challenge in a VAPI call: ``start_voice_check`` issues it, ``speech-update``
marks when the assistant finished reading it, ``verify_voice`` checks the answer.

``start_voice_check`` issues a challenge bound to the claimed user and to the call, and answers
with the sentence the assistant reads out. The answer is the caller's audio from the moment the
assistant stopped reading (the last ``speech-update`` of the assistant's speech ``stopped``
before the caller starts speaking), measured on the call session's timeline; without that message,
from the tool call, with the bound on a late answer widened by the time the prompt takes to
read. The next ``verify_voice`` of that account in the call redeems the challenge and verifies
the voice and the digits on that answer alone (``Verify`` with an ``AnswerCheck``, as an upload
that answers a challenge); until the next ``start_voice_check``, that decision stands for the
account in the call.

The challenges are kept by the replica that holds the call's session, beside it.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from voiceauth_core import AudioProcessingError, VoiceAuthError
from voiceauth_core.attempt import ChallengeResult
from voiceauth_core.call_session import CallSession, Claim, HeardCall
from voiceauth_core.challenge import Challenge, ChallengeFailure, ChallengeRule, spoken_phrase
from voiceauth_core.use_cases import IssueChallenge, RedeemChallenge
from voiceauth_core.use_cases.verify import Verify
from voiceauth_web.call_sessions import UNAVAILABLE, CallSessions
from voiceauth_web.error_responses import log_failure, public_message
from voiceauth_web.observability import Metrics
from voiceauth_web.presenters import CHALLENGE_MESSAGES, verify_sentence

__all__ = ["TOOL_NAME", "CallChallenges", "Mark", "prompt_reading_s"]

TOOL_NAME = "start_voice_check"

#: Reading a challenge's sentence aloud, measured with espeak-ng at its default rate
#: ("Please say the following digits: four, seven, ..."): 4.2, 5.2, 6.2 and 7.3 s for 4, 6, 8
#: and 10 digits, about 2.1 s and 0.52 s a digit; one more second for the assistant's model to
#: turn the tool's result into speech. Used only when the end of the reading is not reported.
_PROMPT_LEAD_S = 3.1
_PROMPT_PER_DIGIT_S = 0.55
#: An answer's length at most, a digit at a time with pauses: room the session must have left.
_ANSWER_PER_DIGIT_S = 0.8
#: How much more of the call's audio ``verify_voice`` waits for before judging the answer: the
#: listen socket's audio lags the server messages a little, and the answer's last digit with it.
_SETTLE_S = 0.5
_SETTLE_POLL_S = 0.05
#: Shorter answer audio is no answer (the quality gate refuses it as a recording).
_NO_ANSWER_REASONS = frozenset({"empty", "too_short", "silent"})


def prompt_reading_s(digits: int) -> float:
    """Seconds from ``start_voice_check``'s answer until the assistant has read ``digits``
    digits out (an estimate, see ``_PROMPT_LEAD_S``)."""
    return _PROMPT_LEAD_S + _PROMPT_PER_DIGIT_S * digits


class Mark(enum.StrEnum):
    """What set the moment the answer is heard from."""

    TOOL_CALL = "tool-call"
    SPEECH_UPDATE = "speech-update"


@dataclass(slots=True, kw_only=True)
class _Open:
    """A challenge read (or being read) to the caller, not yet answered."""

    challenge: Challenge
    claim: Claim
    mark_s: float
    marked_by: Mark = Mark.TOOL_CALL
    assistant_speaking: bool = False
    answer_began: bool = False

    def names(self, claim: Claim) -> bool:
        """Whether ``claim`` is the account the challenge was issued for."""
        return claim.key == self.claim.key or claim.user_id == self.challenge.user_id


@dataclass(slots=True)
class _Call:
    """One call session's challenges: the open one, and the answers checked per account."""

    open: _Open | None = None
    answers: dict[str, asyncio.Task[str]] = field(default_factory=dict)


class CallChallenges:
    """The liveness challenges of the calls this replica listens to, kept beside each session
    (dropped with it).

    Args:
        rule: How challenges are made and answers judged (its length and answer bound size the
            audio a session must still be able to hear).
    """

    def __init__(self, rule: ChallengeRule) -> None:
        self._rule = rule
        self._calls: WeakKeyDictionary[CallSession, _Call] = WeakKeyDictionary()

    def _room_s(self) -> float:
        length = self._rule.length
        return (
            prompt_reading_s(length)
            + self._rule.max_answer_delay_s
            + _ANSWER_PER_DIGIT_S * length
            + _SETTLE_S
        )

    async def start(
        self,
        *,
        call_id: str | None,
        listen_url: str | None,
        claim: Claim,
        sessions: CallSessions,
        issue: IssueChallenge,
    ) -> str:
        """The sentence that answers ``start_voice_check``: the digits for the assistant to read
        out, from a new challenge of the claimed account bound to the call (it replaces any
        challenge still open in the call)."""
        if not call_id:
            return f"{UNAVAILABLE}: a liveness check needs the call's id."
        try:
            session = await sessions.listening(call_id, listen_url, room_s=self._room_s())
            if session is None:
                reason = (
                    "live listening is not enabled for this call"
                    if not listen_url
                    else "another instance listens to this call; send its messages there"
                )
                return f"{UNAVAILABLE}: {reason}."
            challenge = await issue.execute(
                user_id=claim.user_id, phone=claim.phone, call_id=call_id
            )
        except VoiceAuthError as exc:
            log_failure(exc, "start_voice_check failed")
            return f"{UNAVAILABLE}: {public_message(exc)}."
        call = self._calls.setdefault(session, _Call())
        call.open = _Open(challenge=challenge, claim=claim, mark_s=session.heard_s)
        try:
            await sessions.note_challenge(call_id, {claim, Claim(user_id=challenge.user_id)})
        except VoiceAuthError as exc:  # the board: other replicas may answer passively
            log_failure(exc, "announcing a liveness challenge failed")
        return f"Please say the following digits: {spoken_phrase(challenge.digits)}."

    def speech_update(
        self, call_id: str | None, *, role: str | None, status: str | None, sessions: CallSessions
    ) -> None:
        """Follow who speaks in the call: the assistant's speech stopping marks the end of the
        question, until the caller starts to answer (later stops are of something else)."""
        session = sessions.session_of(call_id)
        call = self._calls.get(session) if session is not None else None
        pending = call.open if call is not None else None
        if session is None or pending is None:
            return
        if role == "assistant":
            pending.assistant_speaking = status == "started"
            if status == "stopped" and not pending.answer_began:
                pending.mark_s, pending.marked_by = session.heard_s, Mark.SPEECH_UPDATE
        elif role == "user" and status == "started" and not pending.assistant_speaking:
            pending.answer_began = pending.marked_by is Mark.SPEECH_UPDATE

    async def answer(
        self,
        *,
        call_id: str | None,
        claim: Claim,
        sessions: CallSessions,
        redeem: RedeemChallenge,
        verify: Verify,
        metrics: Metrics,
    ) -> str | None:
        """The sentence that answers ``verify_voice`` for an account challenged in this call:
        the open challenge's answer checked now, or the last one's decision. None when the
        account was not challenged in this call (the passive decision answers)."""
        session = sessions.session_of(call_id)
        call = self._calls.get(session) if session is not None else None
        if session is None or call is None:
            return None
        pending = call.open
        if pending is not None and pending.names(claim):
            call.open = None
            task = asyncio.create_task(
                self._check(session, pending, call_id, redeem, verify, metrics)
            )
            task.add_done_callback(_retrieve)
            user = Claim(user_id=pending.challenge.user_id)
            for key in {claim.key, pending.claim.key, user.key}:
                call.answers[key] = task
        answered = call.answers.get(claim.key)
        return None if answered is None else await asyncio.shield(answered)

    async def _check(
        self,
        session: CallSession,
        pending: _Open,
        call_id: str | None,
        redeem: RedeemChallenge,
        verify: Verify,
        metrics: Metrics,
    ) -> str:
        challenge = pending.challenge
        reading = pending.marked_by is Mark.TOOL_CALL  # the question is in the answer's audio
        try:
            check = await redeem.execute(
                challenge_id=challenge.id,
                user_id=challenge.user_id,
                call_id=call_id,
                extra_delay_s=prompt_reading_s(len(challenge.digits)) if reading else 0.0,
            )
            await _settle(session)
            answer = session.heard_since(pending.mark_s)
            if answer is None:
                return _no_answer(metrics)
            result = await verify.execute(
                source=HeardCall(answer),
                user_id=challenge.user_id,
                correlation_id=call_id or "",
                challenge=check,
            )
        except AudioProcessingError as exc:
            if exc.reason in _NO_ANSWER_REASONS:
                return _no_answer(metrics)
            log_failure(exc, "verify_voice failed")
            return f"{UNAVAILABLE}: {public_message(exc)}."
        except VoiceAuthError as exc:
            log_failure(exc, "verify_voice failed")
            return f"{UNAVAILABLE}: {public_message(exc)}."
        # The routes import this module: their metrics helper is imported when used.
        from voiceauth_web.routes.verification import observe  # noqa: PLC0415

        observe(metrics, result, "vapi")
        return verify_sentence(result)


def _no_answer(metrics: Metrics) -> str:
    """Nothing (or silence) was heard after the question: no digits, counted as such."""
    metrics.challenge_answers.labels(ChallengeResult.NO_DIGITS.value).inc()
    return CHALLENGE_MESSAGES[ChallengeFailure.NO_DIGITS]


async def _settle(session: CallSession) -> None:
    """Wait for ``_SETTLE_S`` more of the call's audio (or its end, or twice that long)."""
    target = session.heard_s + _SETTLE_S
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2 * _SETTLE_S
    # The session signals no growth (a poll of a few steps, bounded): no event to wait on.
    while session.heard_s < target and not session.ended and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(_SETTLE_POLL_S)


def _retrieve(task: asyncio.Task[str]) -> None:
    """An answer's failure is read by whoever asks for it, not logged as never retrieved."""
    if not task.cancelled():
        task.exception()
