"""A call session over the fakes: heard from the first second, answered from what was heard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

import pytest

from voiceauth_core import (
    Audio,
    CaptureError,
    CapturePlan,
    CosinePolicy,
    Decision,
    Enroll,
    InvalidInputError,
    QualityGate,
    UserId,
    UserNotFoundError,
    Verify,
)
from voiceauth_core.call_memo import CallMemo
from voiceauth_core.call_session import CallSession, Claim
from voiceauth_core.embedding import Embedding
from voiceauth_core.testing import (
    ALICE,
    BOB,
    EnergySpeechDetector,
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryStore,
    InMemoryUserRepository,
    ManualClock,
    SpectralEmbeddingModel,
    SyntheticSpeaker,
)

pytestmark = pytest.mark.unit

PLAN = CapturePlan(max_audio_s=20.0, check_every_s=1.0, target_speech_s=6.0)


class PushedCall:
    """A live source the test feeds: chunks pushed in, ``end()`` (or a failure) closes it."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Audio | Exception | None] = asyncio.Queue()
        self.closed = False

    @property
    def channel(self) -> str:
        return "vapi"

    @property
    def live(self) -> bool:
        return True

    def say(self, who: SyntheticSpeaker, seconds: float, seed: int = 5) -> None:
        audio = who.voice(seconds=seconds, seed=seed)
        step = 8000  # half-second chunks
        for start in range(0, len(audio.samples), step):
            self._queue.put_nowait(
                Audio(samples=audio.samples[start : start + step], sample_rate=16000)
            )

    def end(self, error: Exception | None = None) -> None:
        self._queue.put_nowait(error)

    async def fetch(self) -> Audio:
        raise AssertionError("a call session streams")

    async def stream(self) -> AsyncGenerator[Audio, None]:
        try:
            while True:
                item = await self._queue.get()
                if item is None:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self.closed = True


class CountingModel(SpectralEmbeddingModel):
    """The fake model, counting the embeddings it really computes."""

    def __init__(self) -> None:
        super().__init__()
        self.computed = 0

    async def embed(self, audio: Audio) -> Embedding:
        self.computed += 1
        return await super().embed(audio)


@dataclass
class World:
    model: CountingModel
    detector: EnergySpeechDetector
    users: InMemoryUserRepository
    attempts: InMemoryAttemptLog
    gate: QualityGate
    alice: UserId
    bob: UserId

    def session(self, call: PushedCall) -> tuple[CallSession, CallMemo]:
        memo = CallMemo(detector=self.detector, model=self.model, spoof=None, min_speech_s=1.0)
        verify = Verify(
            model=memo.model,
            detector=memo.detector,
            users=self.users,
            attempts=self.attempts,
            policy=CosinePolicy(threshold=0.82, margin=0.1),
            clock=ManualClock(),
            gate=self.gate,
            plan=PLAN,
        )
        session = CallSession(
            source=call, verify=verify, memo=memo, plan=PLAN, correlation_id="call-9"
        )
        return session, memo


@pytest.fixture
async def world() -> World:
    store = InMemoryStore()
    users, attempts = InMemoryUserRepository(store), InMemoryAttemptLog(store)
    model, detector = CountingModel(), EnergySpeechDetector()
    gate = QualityGate(min_enroll_speech_s=3.0, strong_enroll_speech_s=8.0, min_verify_speech_s=1.0)
    enroll = Enroll(model=model, detector=detector, users=users, clock=ManualClock(), gate=gate)
    alice, bob = UserId.new(), UserId.new()
    for user, who in ((alice, ALICE), (bob, BOB)):
        sample = InMemoryAudioSource(who.voice(seconds=6.0, seed=1))
        await enroll.execute(user_id=user, phone=None, source=sample)
    return World(model, detector, users, attempts, gate, alice, bob)


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_speech_heard_before_the_claim_is_judged_from_memory_at_once(world: World) -> None:
    call = PushedCall()
    session, memo = world.session(call)
    running = asyncio.create_task(session.run())
    call.say(ALICE, 5.0)
    await _until(lambda: session.warmed_speech_s >= 4.0)
    computed = world.model.computed

    result = await session.verify(Claim(user_id=world.alice), budget_s=5.0)

    assert result.decision is Decision.ACCEPT
    assert world.model.computed == computed  # the embedding came from memory
    assert memo.hits >= 2  # the speech and its embedding
    assert result.attempt.correlation_id == "call-9"
    assert result.attempt.channel == "vapi"
    # The other account, asked in the same call: rejected, again without a new embedding.
    other = await session.verify(Claim(user_id=world.bob), budget_s=5.0)
    assert other.decision is Decision.REJECT
    assert world.model.computed == computed
    call.end()
    await running
    await session.close()


async def test_a_claim_is_decided_once_per_call(world: World) -> None:
    call = PushedCall()
    session, _ = world.session(call)
    running = asyncio.create_task(session.run())
    call.say(ALICE, 4.0)
    session.start(Claim(user_id=world.alice), budget_s=10.0)  # known at call start
    first = await session.verify(Claim(user_id=world.alice), budget_s=5.0)
    again = await session.verify(Claim(user_id=world.alice), budget_s=5.0)
    assert first.attempt.id == again.attempt.id
    history = (await world.attempts.history(world.alice, limit=5)).items
    assert [a.id for a in history] == [first.attempt.id]
    call.end()
    await running
    await session.close()


async def test_too_little_speech_keeps_listening_within_the_budget(world: World) -> None:
    call = PushedCall()
    session, _ = world.session(call)
    running = asyncio.create_task(session.run())
    call.say(ALICE, 0.5)
    asking = asyncio.create_task(session.verify(Claim(user_id=world.alice), budget_s=5.0))
    await asyncio.sleep(0.2)
    assert not asking.done()  # half a second of speech: not yet safe
    call.say(ALICE, 4.0, seed=6)
    result = await asking
    assert result.decision is Decision.ACCEPT
    call.end()
    await running
    await session.close()


async def test_when_the_budget_runs_out_the_decision_is_made_on_what_was_heard(
    world: World,
) -> None:
    call = PushedCall()
    session, _ = world.session(call)
    running = asyncio.create_task(session.run())
    call.say(ALICE, 0.4)
    started = time.perf_counter()
    result = await session.verify(Claim(user_id=world.alice), budget_s=1.0)
    assert time.perf_counter() - started < 1.0
    assert result.decision is Decision.NOT_ENOUGH_SPEECH
    # Not enough speech does not stand: asked again after more speech, it is decided anew.
    call.say(ALICE, 4.0)
    await _until(lambda: session.heard_s >= 4.0)
    again = await session.verify(Claim(user_id=world.alice), budget_s=5.0)
    assert again.decision is Decision.ACCEPT
    call.end()
    await running
    await session.close()


async def test_a_call_that_ended_is_judged_on_what_it_said(world: World) -> None:
    call = PushedCall()
    session, _ = world.session(call)
    running = asyncio.create_task(session.run())
    call.say(BOB, 3.0)
    call.end()
    await running
    assert call.closed
    result = await session.verify(Claim(user_id=world.alice), budget_s=5.0)
    assert result.decision is Decision.REJECT
    await session.close()


async def test_a_failed_capture_before_any_audio_fails_the_verification(world: World) -> None:
    call = PushedCall()
    session, _ = world.session(call)
    call.end(CaptureError("the socket refused us", reason="connect_failed"))
    await session.run()
    assert session.failure is not None
    with pytest.raises(CaptureError):
        await session.verify(Claim(user_id=world.alice), budget_s=2.0)
    await session.close()


async def test_an_unknown_account_is_not_found_and_may_be_asked_again(world: World) -> None:
    call = PushedCall()
    session, _ = world.session(call)
    running = asyncio.create_task(session.run())
    call.say(ALICE, 2.0)
    with pytest.raises(UserNotFoundError):
        await session.verify(Claim(user_id=UserId.new()), budget_s=2.0)
    call.end()
    await running
    await session.close()


async def test_closing_drops_the_audio_and_stops_listening(world: World) -> None:
    call = PushedCall()
    session, memo = world.session(call)
    running = asyncio.create_task(session.run())
    call.say(ALICE, 3.0)
    await _until(lambda: session.heard_s >= 3.0 and len(session.backlog()) == 1)
    session.start(Claim(user_id=world.alice), budget_s=30.0)
    running.cancel()
    await session.close()
    assert call.closed
    assert (await session.recording().fetch()).duration == 0.0
    assert session.backlog() == []
    # The memory is empty: warming the same audio again computes it again.
    computed = world.model.computed
    await memo.warm(ALICE.voice(seconds=3.0, seed=5), assess=False)
    assert world.model.computed == computed + 1


async def test_the_audio_kept_is_capped(world: World) -> None:
    call = PushedCall()
    session, _ = world.session(call)
    running = asyncio.create_task(session.run())
    call.say(ALICE, PLAN.max_audio_s + 3.0)
    await running  # the session stops reading at the cap
    assert session.heard_s == pytest.approx(PLAN.max_audio_s)
    assert call.closed
    await session.close()


def test_a_claim_names_an_account() -> None:
    with pytest.raises(InvalidInputError):
        Claim()
    user = UserId.new()
    assert Claim(user_id=user).key == f"user:{user}"
