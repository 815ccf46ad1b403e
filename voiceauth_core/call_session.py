"""A call heard from its first second: the running verification of a live call, account or not.

``CallSession`` reads the caller's audio of one call as it arrives and keeps it (never more than
the capture plan's ``max_audio_s``). Before the account is known it finds and embeds the speech
so far (``CallMemo``), so that once a claim arrives (a tool's arguments, the call's metadata,
the caller's number) ``Verify`` hears the backlog at once, scored from memory, and goes on
listening only if the decision is not yet safe. Each claim is verified once per call: a second
request for the same account waits for, or reads, the first one's decision.

Everything is dropped when the session closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass

from voiceauth_core.attempt import Decision
from voiceauth_core.audio import Audio
from voiceauth_core.call_memo import CallMemo
from voiceauth_core.errors import CaptureError, InvalidInputError, VoiceAuthError
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.ports import AudioSource
from voiceauth_core.use_cases.verify import CapturePlan, VerificationResult, Verify

__all__ = ["CallSession", "Claim", "HeardCall"]

#: Decisions that stand for the rest of the call; the others may be asked again.
_FINAL = frozenset({Decision.ACCEPT, Decision.REJECT, Decision.STEP_UP})
#: Of a verification's budget, the time kept to decide on what was heard once listening stops
#: (speech, embedding, spoof check and the attempt log of the last audio).
_DECIDE_S = 1.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """The account a caller claims to hold: a user id, else a phone number.

    Raises:
        InvalidInputError: Neither is given.
    """

    user_id: UserId | None = None
    phone: PhoneNumber | None = None

    def __post_init__(self) -> None:
        if self.user_id is None and self.phone is None:
            raise InvalidInputError("a claim names a user id or a phone number")

    @property
    def key(self) -> str:
        """One string per account named (the user id wins over the phone)."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        assert self.phone is not None
        return f"phone:{self.phone.e164}"


class HeardCall:
    """The caller's audio heard so far, as a recording (``fetch``) for an enrolment."""

    def __init__(self, audio: Audio) -> None:
        self._audio = audio

    @property
    def channel(self) -> str:
        """Always ``vapi``."""
        return "vapi"

    @property
    def live(self) -> bool:
        """Already heard: a recording."""
        return False

    async def fetch(self) -> Audio:
        """The audio heard."""
        return self._audio

    async def stream(self) -> AsyncGenerator[Audio, None]:
        """The audio heard, in one chunk."""
        yield self._audio


class _Tap:
    """A live source over the session: the warmed backlog, the rest so far, then new audio
    until the call's audio ends or ``deadline`` (loop time) passes."""

    def __init__(self, session: CallSession, deadline: float) -> None:
        self._session = session
        self._deadline = deadline
        self._queue: asyncio.Queue[Audio | None] = asyncio.Queue()

    @property
    def channel(self) -> str:
        return "vapi"

    @property
    def live(self) -> bool:
        return True

    def put(self, chunk: Audio | None) -> None:
        self._queue.put_nowait(chunk)

    async def fetch(self) -> Audio:
        return Audio.concatenate([chunk async for chunk in self.stream()])

    async def stream(self) -> AsyncGenerator[Audio, None]:
        session = self._session
        backlog = session.backlog()
        ended = session.ended
        if not ended:
            session.taps.add(self)
        try:
            for chunk in backlog:
                yield chunk
            if ended:
                session.raise_failure_if_silent()
                return
            loop = asyncio.get_running_loop()
            while True:
                try:
                    async with asyncio.timeout(max(0.0, self._deadline - loop.time())):
                        arrived = await self._queue.get()
                except TimeoutError:
                    return
                if arrived is None:
                    session.raise_failure_if_silent()
                    return
                yield arrived
        finally:
            session.taps.discard(self)


class CallSession:
    """One call's caller audio, heard from the start, and the verifications made on it.

    Args:
        source: The call's live audio (its stream is read once, by :meth:`run`).
        verify: ``Verify`` built over ``memo``'s detector, model and countermeasure.
        memo: What is computed ahead of a claim.
        plan: ``max_audio_s`` caps the audio kept; ``check_every_s`` paces the warm steps;
            warming stops once ``target_speech_s`` of speech is in (a verification decides on
            that much anyway).
        correlation_id: Logged with every attempt (the call id).
        on_result: Told each verification's result (to publish it to other replicas).
    """

    def __init__(
        self,
        *,
        source: AudioSource,
        verify: Verify,
        memo: CallMemo,
        plan: CapturePlan,
        correlation_id: str = "",
        on_result: Callable[[Claim, VerificationResult], Awaitable[None]] | None = None,
    ) -> None:
        self._source = source
        self._verify = verify
        self._memo = memo
        self._plan = plan
        self._correlation_id = correlation_id
        self._on_result = on_result
        self._chunks: list[Audio] = []
        self._heard_s = 0.0
        self._warmed: Audio | None = None
        self._warmed_chunks = 0
        self._warmed_speech_s = 0.0
        self._grown = asyncio.Event()
        self._deciding = 0
        self._verifications: dict[str, asyncio.Task[VerificationResult]] = {}
        self._background: set[asyncio.Task[float]] = set()
        self._failure: CaptureError | None = None
        self.taps: set[_Tap] = set()
        self.ended = False
        self.results: list[VerificationResult] = []

    @property
    def heard_s(self) -> float:
        """Seconds of caller audio kept."""
        return self._heard_s

    @property
    def warmed_speech_s(self) -> float:
        """Seconds of speech found and embedded ahead of any claim."""
        return self._warmed_speech_s

    @property
    def failure(self) -> CaptureError | None:
        """Why hearing the call failed, if it did."""
        return self._failure

    async def run(self) -> None:
        """Hear the call until its audio ends (or the cap), warming the memo as it goes.

        A capture failure ends the hearing and is kept (:attr:`failure`): verifications of the
        call then fail with it, or decide on what was heard before.
        """
        warm = asyncio.create_task(self._warm_loop())
        try:
            async with aclosing(self._source.stream()) as stream:
                async for chunk in stream:
                    self._add(chunk)
                    if self._heard_s >= self._plan.max_audio_s:
                        break
        except CaptureError as exc:
            self._failure = exc
        finally:
            self.ended = True
            for tap in list(self.taps):
                tap.put(None)
            self._grown.set()
            warm.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warm

    def _add(self, chunk: Audio) -> None:
        room = self._plan.max_audio_s - self._heard_s
        if room <= 0:
            return
        kept = chunk.slice(0, room) if chunk.duration > room else chunk
        self._chunks.append(kept)
        self._heard_s += kept.duration
        for tap in list(self.taps):
            tap.put(kept)
        self._grown.set()

    async def _warm_loop(self) -> None:
        """Embed the speech so far every ``check_every_s`` of new audio, until the target
        speech is in; spoof assessments run beside, one at a time, on the latest speech."""
        warmed_s = 0.0
        assessing: asyncio.Task[float] | None = None
        while self._warmed_speech_s < self._plan.target_speech_s:
            await self._grown.wait()
            self._grown.clear()
            if self._heard_s - warmed_s < self._plan.check_every_s or self._deciding:
                continue  # a verification hearing the call does this work itself
            count = len(self._chunks)
            audio = Audio.concatenate(self._chunks[:count])
            warmed_s = audio.duration
            try:
                speech_s = await self._memo.warm(audio, assess=False)
            except VoiceAuthError:
                continue  # a verification computes it again and reports the failure
            self._warmed, self._warmed_chunks = audio, count
            self._warmed_speech_s = speech_s
            if assessing is None or assessing.done():
                assessing = asyncio.create_task(self._assess(audio))
                self._background.add(assessing)
                assessing.add_done_callback(self._background.discard)

    async def _assess(self, audio: Audio) -> float:
        try:
            return await self._memo.warm(audio, assess=True)
        except VoiceAuthError:
            return 0.0

    def backlog(self) -> list[Audio]:
        """The audio so far as a verification hears it first: the warmed audio in one chunk
        (so that it is scored from memory), then the rest in one chunk."""
        chunks: list[Audio] = []
        rest = self._chunks
        if self._warmed is not None:
            chunks.append(self._warmed)
            rest = self._chunks[self._warmed_chunks :]
        if rest:
            chunks.append(Audio.concatenate(rest))
        return chunks

    def raise_failure_if_silent(self) -> None:
        """Raise the capture failure when nothing at all was heard (else decide on it)."""
        if self._failure is not None and not self._chunks:
            raise self._failure

    def recording(self) -> HeardCall:
        """The caller's audio heard so far, as a source to enrol from."""
        return HeardCall(Audio.concatenate(self._chunks))

    def heard_since(self, start_s: float) -> Audio | None:
        """The caller's audio heard from ``start_s`` seconds into the call's audio (a moment
        read from :attr:`heard_s`) until now; None when nothing was heard after it."""
        audio = Audio.concatenate(self._chunks) if self._chunks else None
        if audio is None or audio.duration <= start_s:
            return None
        return audio.slice(start_s)

    def can_hear(self, seconds: float) -> bool:
        """Whether the session will still hear ``seconds`` more of the call: it is listening
        and that much more stays under the plan's ``max_audio_s``."""
        return not self.ended and self._heard_s + seconds <= self._plan.max_audio_s

    async def verify(self, claim: Claim, *, budget_s: float) -> VerificationResult:
        """Verify the caller against ``claim``'s enrolment within ``budget_s`` seconds.

        The backlog is judged at once; if that is not yet safe, the session keeps listening
        until the decision is safe, the target speech is in, the call's audio ends or the
        budget runs out (then it decides on what it heard). A claim already decided in this
        call is answered with that decision; one being decided is waited for.

        Raises:
            TimeoutError: A verification of the claim started earlier did not decide in time.
            UserNotFoundError: The account is not enrolled.
            CaptureError: Nothing at all was heard from the call.
            StorageUnavailableError: The store is unreachable.
        """
        task = self._verifications.get(claim.key)
        if task is None or (task.done() and not self._stands(task)):
            task = asyncio.create_task(self._decide(claim, budget_s))
            self._verifications[claim.key] = task
        async with asyncio.timeout(budget_s):
            return await asyncio.shield(task)

    def start(self, claim: Claim, *, budget_s: float) -> None:
        """Begin verifying ``claim`` now, in the background (the account is known at call
        start); a later :meth:`verify` of it reads or waits for the decision."""
        if claim.key in self._verifications:
            return
        task = asyncio.create_task(self._decide(claim, budget_s))
        task.add_done_callback(_retrieve)
        self._verifications[claim.key] = task

    @staticmethod
    def _stands(task: asyncio.Task[VerificationResult]) -> bool:
        if task.cancelled() or task.exception() is not None:
            return False
        return task.result().decision in _FINAL

    async def _decide(self, claim: Claim, budget_s: float) -> VerificationResult:
        # The listening part of the budget; the rest is kept to decide on what was heard.
        listening_s = max(0.0, budget_s - min(_DECIDE_S, budget_s / 2))
        deadline = asyncio.get_running_loop().time() + listening_s
        self._deciding += 1
        try:
            result = await self._verify.execute(
                source=_Tap(self, deadline),
                user_id=claim.user_id,
                phone=claim.phone,
                correlation_id=self._correlation_id,
                plan=self._plan,
            )
        finally:
            self._deciding -= 1
        self.results.append(result)
        if self._on_result is not None:
            await self._on_result(claim, result)
        return result

    async def close(self) -> None:
        """Stop every verification and warm step and drop the audio (idempotent)."""
        tasks = [*self._verifications.values(), *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._verifications.clear()
        self._chunks.clear()
        self._warmed = None
        self._memo.forget()


def _retrieve(task: asyncio.Task[VerificationResult]) -> None:
    """A background verification's failure is read by whoever asks for it, not logged twice."""
    if not task.cancelled():
        task.exception()
