"""The live call sessions of one replica: bounded, timed out when idle, shared through a board.

``CallSessions`` is opened in the app's lifespan. A VAPI ``status-update`` (``in-progress``)
starts a session for the call (``CallSession``, keyed by ``call.id``) that listens to the
caller from then on; tool calls ask it for decisions; the call's end, or ``idle_s`` without
audio or messages, closes it and releases its socket. At most ``max_sessions`` are held
(``ServiceBusyError`` beyond, counted in ``voiceauth_call_sessions_refused_total``).

With a shared board (Redis), the replica that starts a session holds the call there: its
decisions are posted on the board, and a replica asked about a call it does not hold reads the
decision, or posts the question and waits for the holder's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from loguru import logger

from voiceauth_core import (
    AudioProcessingError,
    Decision,
    Enroll,
    InvalidInputError,
    PhoneNumber,
    ServiceBusyError,
    UserId,
    VerificationResult,
    VoiceAuthError,
)
from voiceauth_core.call_board import CallAnswer, CallAsk
from voiceauth_core.call_session import CallSession, Claim
from voiceauth_core.ports import AudioSource, DecisionBoard
from voiceauth_web.error_responses import log_failure, public_message
from voiceauth_web.instrumented import InstrumentedSource
from voiceauth_web.observability import Metrics
from voiceauth_web.presenters import MESSAGES, verify_sentence

__all__ = ["CallSessions", "ChallengeAnswer", "ListenSources", "SessionFactory"]

#: The sentence of a call's liveness challenge for an account, or None if it was not challenged.
ChallengeAnswer = Callable[[str, Claim], Awaitable[str | None]]

#: Said when a verification cannot run at all.
UNAVAILABLE = "Voice check unavailable"
#: How often idle sessions are looked for, and a holder renews its hold.
_SWEEP_S = 1.0


class ListenSources(Protocol):
    """Makes a call's live audio source from its listen URL (``VapiListener``)."""

    def source(
        self, listen_url: str, *, max_audio_s: float | None = None, timeout_s: float | None = None
    ) -> AudioSource:
        """A source for the call at ``listen_url``."""
        ...


#: Builds a call's session: (its live source, the call id, told each result) -> session.
SessionFactory = Callable[
    [AudioSource, str, Callable[[Claim, VerificationResult], Awaitable[None]]], CallSession
]


@dataclass(slots=True)
class _Held:
    session: CallSession
    touched: float
    heard_s: float = 0.0
    claims: list[Claim] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def claim_of(user_id: str | None, phone: str | None) -> Claim:
    """The claim a tool's (or a call's) account names: the user id, else the phone number.

    Raises:
        InvalidInputError: Neither is given, or one is malformed.
    """
    if user_id:
        return Claim(user_id=UserId.parse(user_id))
    if phone:
        return Claim(phone=PhoneNumber.parse(phone))
    raise InvalidInputError("give the account's userId or phone number")


def sentence_of(result: VerificationResult) -> str:
    """What the assistant is told about a decision (a watchlist reject has its own sentence)."""
    return verify_sentence(result)


class CallSessions:
    """The call sessions this replica holds.

    Args:
        listener: Opens the calls' listen sockets.
        make_session: Builds a call's session (``wiring.call_session``).
        enroll: Enrols a caller's voice from the call (the ``enroll_voice`` tool).
        board: Where decisions are shared (in memory for one replica, Redis for several).
        shared: Whether other replicas read the board (then sessions answer their asks).
        max_sessions: Sessions held at most; 0 turns passive verification off.
        idle_s: A session without new audio or messages for this long is closed.
        max_audio_s: Caller audio a session keeps at most (``MAX_AUDIO_DURATION``).
        metrics: The service's metrics.
    """

    def __init__(
        self,
        *,
        listener: ListenSources,
        make_session: SessionFactory,
        enroll: Callable[[], Enroll],
        board: DecisionBoard,
        shared: bool,
        max_sessions: int,
        idle_s: float,
        metrics: Metrics,
    ) -> None:
        self._listener = listener
        self._make_session = make_session
        self._enroll = enroll
        self._board = board
        self._shared = shared
        self._max = max_sessions
        self._idle_s = idle_s
        self._metrics = metrics
        self._replica = uuid.uuid4().hex
        self._held: dict[str, _Held] = {}
        self._starting: dict[str, asyncio.Task[_Held | None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._ending: set[asyncio.Task[None]] = set()
        self._challenge_answer: ChallengeAnswer | None = None

    def answer_challenges_with(self, answer: ChallengeAnswer) -> None:
        """Consult ``answer`` first when another replica asks about a call held here: an account
        challenged in the call is answered by its liveness challenge, not the passive decision."""
        self._challenge_answer = answer

    async def note_challenge(self, call_id: str, claims: Iterable[Claim]) -> None:
        """Tell the other replicas that these accounts are challenged in the call: they then ask
        this replica (which checks the answer) instead of reading a decision posted before."""
        if not self._shared:
            return
        for claim in claims:
            await self._post(call_id, _challenged(claim), CallAnswer(sentence="challenged"))

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._held

    @property
    def replica(self) -> str:
        """This replica's id on the board."""
        return self._replica

    async def open(self) -> None:
        """Start looking for idle sessions (idempotent)."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep())

    async def close(self) -> None:
        """Close every session and the board (idempotent)."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        for call_id in list(self._held):
            await self.end(call_id)
        await self._board.close()

    # Starting and ending.

    async def start(self, call_id: str, listen_url: str, claims: list[Claim]) -> bool:
        """Start listening to the call now, and verifying it against the first claim, if any.

        Returns:
            False when another replica holds the call (it listens, not this one).

        Raises:
            ServiceBusyError: This replica holds its maximum of sessions.
            InvalidInputError: The listen URL is not allowed.
        """
        held = await self._hold(call_id, listen_url)
        if held is None:
            return False
        if claims:
            held.claims = claims
            held.session.start(claims[0], budget_s=self._idle_s)
        return True

    def claims_of(self, call_id: str | None) -> list[Claim]:
        """The accounts the call named when its session started here (first one first)."""
        held = self._held.get(call_id) if call_id else None
        return list(held.claims) if held else []

    async def _hold(self, call_id: str, listen_url: str) -> _Held | None:
        """The call's session here, started if new; None if another replica holds it."""
        if call_id in self._held:
            self._touch(call_id)
            return self._held[call_id]
        starting = self._starting.get(call_id)
        if starting is None:
            starting = asyncio.create_task(self._begin(call_id, listen_url))
            self._starting[call_id] = starting
            starting.add_done_callback(lambda _: self._starting.pop(call_id, None))
        return await asyncio.shield(starting)

    async def _begin(self, call_id: str, listen_url: str) -> _Held | None:
        if len(self._held) >= self._max:
            self._metrics.call_sessions_refused.inc()
            raise ServiceBusyError(
                f"this instance already listens to {self._max} calls; passive verification "
                "of this call is refused"
            )
        source = InstrumentedSource(self._listener.source(listen_url))
        if self._shared:
            holder = await self._board.hold(call_id, self._replica, ttl_s=self._idle_s * 2)
            if holder != self._replica:
                return None
        loop = asyncio.get_running_loop()

        async def on_result(claim: Claim, result: VerificationResult) -> None:
            # The routes import this module: their metrics helper is imported when used.
            from voiceauth_web.routes.verification import observe  # noqa: PLC0415

            observe(self._metrics, result, "vapi")
            if self._shared:
                answer = CallAnswer(sentence=sentence_of(result), decision=result.decision)
                await self._post(call_id, claim.key, answer)

        session = self._make_session(source, call_id, on_result)
        held = _Held(session=session, touched=loop.time())
        self._held[call_id] = held
        self._metrics.call_sessions.set(len(self._held))
        held.tasks.append(asyncio.create_task(self._listen(call_id, session)))
        if self._shared:
            held.tasks.append(asyncio.create_task(self._answer_asks(call_id, held)))
        logger.bind(call=call_id, sessions=len(self._held)).info("call session started")
        return held

    async def _listen(self, call_id: str, session: CallSession) -> None:
        await session.run()
        if session.failure is not None:
            logger.bind(call=call_id, reason=session.failure.reason).info(
                "the call's audio could not be heard: {}", session.failure.message
            )

    async def end(self, call_id: str) -> None:
        """Close the call's session: here, or on the replica that holds it (idempotent)."""
        held = self._held.pop(call_id, None)
        if held is None:
            if self._shared and await self._board.holder(call_id) not in (None, self._replica):
                await self._board.ask(call_id, CallAsk(ask_id=uuid.uuid4().hex, kind="end"))
            return
        for task in held.tasks:
            task.cancel()
        for task in held.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await held.session.close()
        self._metrics.call_sessions.set(len(self._held))
        if self._shared:
            with contextlib.suppress(VoiceAuthError):
                await self._board.release(call_id, self._replica)
        logger.bind(call=call_id, attempts=len(held.session.results)).info("call session ended")

    def _touch(self, call_id: str) -> None:
        held = self._held.get(call_id)
        if held is not None:
            held.touched = asyncio.get_running_loop().time()

    async def _sweep(self) -> None:
        """Close sessions idle for ``idle_s``; renew the holds of the others."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_SWEEP_S)
            now = loop.time()
            for call_id, held in list(self._held.items()):
                if held.session.heard_s != held.heard_s:
                    held.heard_s, held.touched = held.session.heard_s, now
                if now - held.touched >= self._idle_s:
                    logger.bind(call=call_id).info("call session idle; closed")
                    await self.end(call_id)
                elif self._shared:
                    with contextlib.suppress(VoiceAuthError):
                        await self._board.hold(call_id, self._replica, ttl_s=self._idle_s * 2)

    def session_of(self, call_id: str | None) -> CallSession | None:
        """This replica's session of the call, or None."""
        held = self._held.get(call_id) if call_id else None
        return None if held is None else held.session

    async def listening(
        self, call_id: str, listen_url: str | None, *, room_s: float
    ) -> CallSession | None:
        """This replica's session of the call, able to hear ``room_s`` more of it: the one held,
        else a new one from ``listen_url`` (when none is held, or the one held stopped hearing:
        its audio ended or its ``max_audio_s`` is near). None when another replica holds the
        call, or there is nothing to listen to.

        Raises:
            ServiceBusyError: This replica holds its maximum of sessions.
            InvalidInputError: The listen URL is not allowed.
        """
        held = self._held.get(call_id)
        if held is not None and held.session.can_hear(room_s):
            self._touch(call_id)
            return held.session
        if not listen_url:
            return None
        claims = list(held.claims) if held is not None else []
        if held is not None:
            await self.end(call_id)
        fresh = await self._hold(call_id, listen_url)
        if fresh is None:
            return None
        fresh.claims = fresh.claims or claims
        return fresh.session

    def heard(self, call_id: str | None) -> AudioSource | None:
        """What this replica's session of the call has heard so far, as a recording (None: it
        holds no session of the call)."""
        held = self._held.get(call_id) if call_id else None
        return None if held is None else held.session.recording()

    # Decisions.

    async def verify(
        self, call_id: str | None, listen_url: str | None, claim: Claim, *, budget_s: float
    ) -> str:
        """The sentence that answers a ``verify_voice`` tool call within ``budget_s``.

        The call's session (here, or on the replica that holds it) answers from what it
        already heard; without one, a session is started now from ``listen_url``.
        """
        try:
            return await self._verify(call_id, listen_url, claim, budget_s)
        except TimeoutError:
            return MESSAGES[Decision.NOT_ENOUGH_SPEECH]
        except VoiceAuthError as exc:
            log_failure(exc, "verify_voice failed")
            return f"{UNAVAILABLE}: {public_message(exc)}."

    async def _verify(
        self, call_id: str | None, listen_url: str | None, claim: Claim, budget_s: float
    ) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        if call_id is not None and call_id not in self._held and self._shared:
            holder = await self._board.holder(call_id)
            if holder is not None and holder != self._replica:
                return await self._ask_holder(call_id, claim, budget_s)
        if not listen_url and (call_id is None or call_id not in self._held):
            return f"{UNAVAILABLE}: live listening is not enabled for this call."
        key = call_id or f"tool-{uuid.uuid4().hex}"
        held = await self._hold(key, listen_url or "")
        if held is None:  # another replica won the call meanwhile
            return await self._ask_holder(key, claim, deadline - loop.time())
        result = await held.session.verify(claim, budget_s=max(0.1, deadline - loop.time()))
        self._touch(key)
        if call_id is None:  # a tool call without a call id: nothing else can ask about it
            await self.end(key)
        return sentence_of(result)

    async def _ask_holder(self, call_id: str, claim: Claim, budget_s: float) -> str:
        """Read the holder's decision for ``claim``, or ask for it and wait."""
        posted = await self._board.read(call_id, claim.key)
        if posted is not None and await self._board.read(call_id, _challenged(claim)) is None:
            return posted.sentence
        ask = CallAsk(
            ask_id=uuid.uuid4().hex,
            user_id=str(claim.user_id) if claim.user_id else None,
            phone=claim.phone.e164 if claim.phone else None,
            budget_s=max(0.1, budget_s - 0.2),
        )
        await self._board.ask(call_id, ask)
        answer = await self._board.wait(call_id, ask.ask_id, timeout_s=budget_s)
        if answer is None:
            raise TimeoutError
        return answer.sentence

    async def _answer_asks(self, call_id: str, held: _Held) -> None:
        """Answer the questions other replicas post about this call, each in its own task."""
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                try:
                    ask = await self._board.next_ask(call_id, timeout_s=_SWEEP_S)
                except VoiceAuthError:
                    await asyncio.sleep(_SWEEP_S)
                    continue
                if ask is None:
                    continue
                if ask.kind == "end":
                    asyncio.get_running_loop().call_soon(self._end_soon, call_id)
                    return
                self._touch(call_id)
                task = asyncio.create_task(self._answer(call_id, held, ask))
                running.add(task)
                task.add_done_callback(running.discard)
        finally:
            for task in running:
                task.cancel()

    def _end_soon(self, call_id: str) -> None:
        """End the call from outside the task that answers its asks (which ending cancels)."""
        task = asyncio.create_task(self.end(call_id))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def _answer(self, call_id: str, held: _Held, ask: CallAsk) -> None:
        try:
            claim = claim_of(ask.user_id, ask.phone)
            challenged = None
            if self._challenge_answer is not None:
                async with asyncio.timeout(ask.budget_s):
                    challenged = await self._challenge_answer(call_id, claim)
            if challenged is not None:
                answer = CallAnswer(sentence=challenged)
            else:
                result = await held.session.verify(claim, budget_s=ask.budget_s)
                answer = CallAnswer(sentence=sentence_of(result), decision=result.decision)
        except TimeoutError:
            answer = CallAnswer(sentence=MESSAGES[Decision.NOT_ENOUGH_SPEECH])
        except VoiceAuthError as exc:
            log_failure(exc, "verify_voice failed")
            answer = CallAnswer(sentence=f"{UNAVAILABLE}: {public_message(exc)}.")
        await self._post(call_id, ask.ask_id, answer)

    async def _post(self, call_id: str, key: str, answer: CallAnswer) -> None:
        try:
            await self._board.post(call_id, key, answer)
        except VoiceAuthError as exc:
            log_failure(exc, "posting a call's decision failed")

    # Enrolment.

    async def enroll(self, call_id: str | None, claim: Claim, *, confirmed_by: str) -> str:
        """The sentence that answers an ``enroll_voice`` tool call: the caller's voice heard in
        this call so far is added to the account's enrolment (this replica's session only)."""
        held = self._held.get(call_id) if call_id else None
        if held is None or claim.user_id is None:
            reason = (
                "give the account's userId"
                if claim.user_id is None
                else "this call is not being listened to here; start the call session first"
            )
            return f"Voice enrolment unavailable: {reason}."
        self._touch(call_id or "")
        try:
            result = await self._enroll().execute(
                user_id=claim.user_id, phone=claim.phone, source=held.session.recording()
            )
        except AudioProcessingError as exc:
            if exc.reason == "not_enough_speech":
                return (
                    "Not enough speech to enrol the caller's voice yet: ask the caller to speak "
                    "for a few more seconds, then enrol again."
                )
            log_failure(exc, "enroll_voice failed")
            return f"Voice enrolment refused: {public_message(exc)}."
        except VoiceAuthError as exc:
            log_failure(exc, "enroll_voice failed")
            return f"Voice enrolment unavailable: {public_message(exc)}."
        self._metrics.enrollments.labels("vapi").inc()
        logger.bind(call=call_id, confirmed_by=confirmed_by).info("caller's voice enrolled")
        enrolled = "Voice enrolled: the caller's voice is now on file for this account."
        if result.strong_enough:
            return enrolled
        return f"{enrolled} More speech in a later call will make it stronger."


def _challenged(claim: Claim) -> str:
    """The board key that says ``claim``'s account is challenged in the call."""
    return f"challenged:{claim.key}"
