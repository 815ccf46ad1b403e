"""A live verification scores the newest audio: checks coalesce while one waits or runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable

import pytest

from voiceauth_core import (
    Audio,
    CaptureError,
    CapturePlan,
    CosinePolicy,
    Decision,
    Enroll,
    QualityGate,
    ServiceBusyError,
    UserId,
    Verify,
)
from voiceauth_core.embedding import Embedding
from voiceauth_core.testing import (
    ALICE,
    EnergySpeechDetector,
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryStore,
    InMemoryUserRepository,
    ManualClock,
    SpectralEmbeddingModel,
)

pytestmark = pytest.mark.unit

#: Never an early decision: every check until the end is scored.
NEVER_EARLY = CosinePolicy(threshold=0.82, margin=1.0)
PLAN = CapturePlan(max_audio_s=20.0, check_every_s=1.0, target_speech_s=20.0)
GATE = QualityGate(min_enroll_speech_s=3.0, strong_enroll_speech_s=8.0, min_verify_speech_s=0.5)


class PushedCall:
    """A live source the test feeds chunk by chunk; ``end()`` closes it."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Audio | Exception | None] = asyncio.Queue()
        self.closed = False

    @property
    def channel(self) -> str:
        return "vapi"

    @property
    def live(self) -> bool:
        return True

    def say(self, audio: Audio, chunk_s: float = 0.1) -> None:
        start = 0.0
        while start < audio.duration - 1e-9:
            self.queue.put_nowait(audio.slice(start, start + chunk_s))
            start += chunk_s

    def end(self, error: Exception | None = None) -> None:
        self.queue.put_nowait(error)

    async def fetch(self) -> Audio:
        raise AssertionError("a live call streams")

    async def stream(self) -> AsyncGenerator[Audio, None]:
        try:
            while True:
                item = await self.queue.get()
                if item is None:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self.closed = True


class HeldModel(SpectralEmbeddingModel):
    """The fake model behind a gate the test opens (a busy worker pool), noting each input."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.seconds: list[float] = []

    async def embed(self, audio: Audio) -> Embedding:
        self.seconds.append(audio.duration)
        await self.gate.wait()
        return await super().embed(audio)


class BusyModel(SpectralEmbeddingModel):
    """The fake model behind a worker pool that is full for the first ``busy`` requests."""

    def __init__(self, busy: int) -> None:
        super().__init__()
        self.busy = busy
        self.refused = 0
        self.seconds: list[float] = []

    async def embed(self, audio: Audio) -> Embedding:
        if self.refused < self.busy:
            self.refused += 1
            raise ServiceBusyError("every worker is busy")
        self.seconds.append(audio.duration)
        return await super().embed(audio)


async def _until(condition: Callable[[], bool], timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def _world(
    model: SpectralEmbeddingModel, policy: CosinePolicy = NEVER_EARLY
) -> tuple[Verify, UserId, InMemoryAttemptLog]:
    store = InMemoryStore()
    users, attempts = InMemoryUserRepository(store), InMemoryAttemptLog(store)
    detector = EnergySpeechDetector()
    enroll = Enroll(
        model=SpectralEmbeddingModel(),
        detector=detector,
        users=users,
        clock=ManualClock(),
        gate=GATE,
    )
    user = UserId.new()
    await enroll.execute(
        user_id=user, phone=None, source=InMemoryAudioSource(ALICE.voice(seconds=6.0, seed=1))
    )
    verify = Verify(
        model=model,
        detector=detector,
        users=users,
        attempts=attempts,
        policy=policy,
        clock=ManualClock(),
        gate=GATE,
        plan=PLAN,
    )
    return verify, user, attempts


async def test_audio_arriving_during_a_check_is_read_and_scored_at_once_by_the_next() -> None:
    model = HeldModel()
    verify, user, _ = await _world(model)
    call = PushedCall()
    voice = ALICE.voice(seconds=6.0, seed=3)
    call.say(voice.slice(0.0, 1.2))
    verifying = asyncio.create_task(verify.execute(user_id=user, source=call))
    await _until(lambda: len(model.seconds) == 1)  # the first check waits for a worker
    call.say(voice.slice(1.2, 6.0))
    # The call is read while the check waits: nothing piles up in the socket.
    await _until(call.queue.empty)
    model.gate.set()
    await _until(lambda: len(model.seconds) == 2)
    call.end()
    result = await verifying

    # Two embeddings, not six: the second check took the five seconds that arrived meanwhile,
    # instead of one more second of stale audio at a time.
    assert len(model.seconds) == 2
    speech = await EnergySpeechDetector().speech(voice)
    assert model.seconds[1] == pytest.approx(speech.duration, abs=0.1)  # all the speech
    assert model.seconds[1] > 4 * model.seconds[0]
    assert result.audio_seconds == pytest.approx(6.0, abs=0.01)
    assert result.speech_seconds == pytest.approx(model.seconds[1], abs=0.01)
    assert result.decision is Decision.ACCEPT
    assert call.closed


async def test_a_fast_live_source_is_checked_where_a_recording_of_it_is() -> None:
    voice = ALICE.voice(seconds=7.5, seed=4)
    inputs: dict[bool, list[float]] = {}
    scores: dict[bool, float] = {}
    for live in (True, False):
        model = HeldModel()
        model.gate.set()
        verify, user, _ = await _world(model)
        result = await verify.execute(
            user_id=user,
            source=InMemoryAudioSource(voice, channel="vapi", live=live, chunk_s=0.25),
        )
        assert result.score is not None
        inputs[live], scores[live] = model.seconds, result.score.raw
    # Read faster than real time, the call is checked at each second all the same: the same
    # embeddings, the same score as the recording cut into one-second steps.
    assert len(inputs[True]) >= 6
    assert inputs[True] == inputs[False]
    assert scores[True] == scores[False]


async def test_a_decided_call_is_no_longer_read() -> None:
    model = HeldModel()
    model.gate.set()
    early, user, _ = await _world(model, CosinePolicy(threshold=0.82, margin=0.1))
    call = PushedCall()
    call.say(ALICE.voice(seconds=4.0, seed=5))
    result = await early.execute(user_id=user, source=call)
    assert result.decision is Decision.ACCEPT
    assert result.audio_seconds < 4.0
    assert call.closed  # the socket is closed with the decision
    call.say(ALICE.voice(seconds=2.0, seed=6))
    await asyncio.sleep(0.05)
    assert call.queue.qsize() > 0  # and nothing reads the call any more


async def test_a_call_failing_while_a_check_runs_fails_the_verification() -> None:
    model = HeldModel()
    verify, user, attempts = await _world(model)
    call = PushedCall()
    call.say(ALICE.voice(seconds=1.2, seed=7))
    verifying = asyncio.create_task(verify.execute(user_id=user, source=call))
    await _until(lambda: len(model.seconds) == 1)
    call.say(ALICE.voice(seconds=0.5, seed=8))
    call.end(CaptureError("socket closed", reason="closed"))
    await _until(call.queue.empty)
    model.gate.set()
    with pytest.raises(CaptureError):
        await verifying
    assert (await attempts.history(user, limit=5)).items[0].decision is Decision.ERROR


async def test_an_overloaded_pool_delays_a_live_decision_instead_of_failing_the_call() -> None:
    # Every check but the last finds the pool full: the call is still decided, on all of it.
    voice = ALICE.voice(seconds=6.0, seed=9)
    model = BusyModel(busy=5)
    verify, user, attempts = await _world(model)
    source = InMemoryAudioSource(voice, channel="vapi", live=True, chunk_s=0.25)
    result = await verify.execute(user_id=user, source=source)
    assert model.refused == 5
    assert result.decision is Decision.ACCEPT
    assert result.audio_seconds == pytest.approx(6.0, abs=0.01)
    speech = await EnergySpeechDetector().speech(voice)
    assert model.seconds[-1] == pytest.approx(speech.duration, abs=0.01)
    assert (await attempts.history(user, limit=5)).items[0].decision is Decision.ACCEPT


async def test_the_final_check_of_a_live_call_waits_one_more_turn_then_fails() -> None:
    voice = ALICE.voice(seconds=2.0, seed=10)

    def call() -> InMemoryAudioSource:
        return InMemoryAudioSource(voice, channel="vapi", live=True, chunk_s=0.25)

    calm = BusyModel(busy=0)
    verify, user, _ = await _world(calm)
    await verify.execute(user_id=user, source=call())
    checks = len(calm.seconds)  # the checks while the call is heard (the final one reuses the last)
    for busy in (checks, checks + 1):  # each refused; then the final check's first try too
        model = BusyModel(busy=busy)
        verify, user, _ = await _world(model)
        assert (await verify.execute(user_id=user, source=call())).decision is Decision.ACCEPT
        assert model.seconds == [calm.seconds[-1]]  # decided once, on all the speech
    model = BusyModel(busy=checks + 2)  # ... and its second: the call fails, and is logged
    verify, user, attempts = await _world(model)
    with pytest.raises(ServiceBusyError):
        await verify.execute(user_id=user, source=call())
    assert (await attempts.history(user, limit=5)).items[0].decision is Decision.ERROR


async def test_a_recording_still_fails_fast_when_the_pool_is_full() -> None:
    model = BusyModel(busy=1)
    verify, user, _ = await _world(model)
    with pytest.raises(ServiceBusyError):
        await verify.execute(user_id=user, source=InMemoryAudioSource(ALICE.voice(seconds=3.0)))
    assert model.refused == 1
