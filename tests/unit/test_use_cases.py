"""The use cases over the in-memory fakes: enrol, verify (early decisions), list, history, erase."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from voiceauth_core import (
    Audio,
    AudioDownloadError,
    AudioProcessingError,
    AuthHistory,
    CaptureError,
    CapturePlan,
    CosinePolicy,
    Decision,
    DeleteUser,
    Enroll,
    GetUser,
    InvalidInputError,
    ListUsers,
    PhoneNumber,
    PhoneNumberInUseError,
    QualityGate,
    UserId,
    UserNotFoundError,
    Verify,
)
from voiceauth_core.testing import (
    ALICE,
    BOB,
    EnergySpeechDetector,
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryStore,
    InMemoryUserRepository,
    LowPassLine,
    ManualClock,
    SpectralEmbeddingModel,
    SyntheticSpeaker,
)

pytestmark = pytest.mark.unit


def voice(who: SyntheticSpeaker, seconds: float, seed: int) -> Audio:
    return who.voice(seconds=seconds, seed=seed)


@dataclass
class World:
    model: SpectralEmbeddingModel
    users: InMemoryUserRepository
    attempts: InMemoryAttemptLog
    enroll: Enroll
    verify: Verify
    clock: ManualClock

    async def enrol(self, user: UserId, phone: PhoneNumber | None = None, seed: int = 1) -> None:
        await self.enroll.execute(
            user_id=user, phone=phone, source=InMemoryAudioSource(voice(ALICE, 6.0, seed))
        )


@pytest.fixture
def world() -> World:
    store = InMemoryStore()
    users, attempts = InMemoryUserRepository(store), InMemoryAttemptLog(store)
    model, detector, clock = SpectralEmbeddingModel(), EnergySpeechDetector(), ManualClock()
    gate = QualityGate(min_enroll_speech_s=3.0, strong_enroll_speech_s=8.0, min_verify_speech_s=1.0)
    enroll = Enroll(model=model, detector=detector, users=users, clock=clock, gate=gate)
    verify = Verify(
        model=model,
        detector=detector,
        users=users,
        attempts=attempts,
        policy=CosinePolicy(threshold=0.82, margin=0.1),
        clock=clock,
        gate=gate,
        plan=CapturePlan(max_audio_s=20.0, check_every_s=1.0, target_speech_s=6.0),
    )
    return World(model, users, attempts, enroll, verify, clock)


async def test_enrolment_grows_with_each_sample_until_strong(world: World) -> None:
    user = UserId.new()
    first = await world.enroll.execute(
        user_id=user, phone=None, source=InMemoryAudioSource(voice(ALICE, 6.0, 1))
    )
    assert first.enrollment.sample_count == 1
    assert 3.0 <= first.sample_speech_seconds < 6.0
    assert first.strong_enough is False
    second = await world.enroll.execute(
        user_id=user, phone=None, source=InMemoryAudioSource(voice(ALICE, 6.0, 2))
    )
    assert second.enrollment.sample_count == 2
    assert second.enrollment.speech_seconds == pytest.approx(
        first.sample_speech_seconds + second.sample_speech_seconds
    )
    assert second.strong_enough is True
    replaced = await world.enroll.execute(
        user_id=user, phone=None, source=InMemoryAudioSource(voice(BOB, 6.0, 3)), replace=True
    )
    assert replaced.enrollment.sample_count == 1


async def test_enrolment_keeps_a_phone_band_voiceprint_when_given_a_line(world: World) -> None:
    """With a telephone channel each sample is also embedded as heard over it, and stored."""
    detector = EnergySpeechDetector()
    gate = QualityGate(min_enroll_speech_s=3.0)
    with_line = Enroll(
        model=world.model,
        detector=detector,
        users=world.users,
        clock=world.clock,
        gate=gate,
        telephone=LowPassLine(),
    )
    user = UserId.new()
    audio = voice(ALICE, 6.0, 1)
    result = await with_line.execute(user_id=user, phone=None, source=InMemoryAudioSource(audio))
    twin = result.enrollment.phone_band_centroid
    assert twin is not None
    speech = await detector.speech(audio)
    expected = await world.model.embed(await LowPassLine().transmit(speech))
    assert twin.vector == pytest.approx(expected.vector)
    assert twin.cosine(result.enrollment.centroid) < 0.9999  # the line changed what was heard
    stored = await world.users.get(user)
    assert stored is not None
    assert stored.phone_band_sum is not None
    # Without a line (the world's Enroll) no phone-band voiceprint is made.
    other = UserId.new()
    plain = await world.enroll.execute(user_id=other, phone=None, source=InMemoryAudioSource(audio))
    assert plain.enrollment.phone_band_sum is None


async def test_enrolment_needs_enough_speech_and_writes_nothing_otherwise(world: World) -> None:
    user = UserId.new()
    with pytest.raises(AudioProcessingError) as caught:
        await world.enroll.execute(
            user_id=user, phone=None, source=InMemoryAudioSource(voice(ALICE, 2.0, 1))
        )
    assert caught.value.reason == "not_enough_speech"
    assert await world.users.get(user) is None


async def test_enrolment_refuses_silence_and_download_errors(world: World) -> None:
    user = UserId.new()
    with pytest.raises(AudioProcessingError):
        await world.enroll.execute(
            user_id=user, phone=None, source=InMemoryAudioSource(Audio.silence(5.0))
        )
    failing = InMemoryAudioSource(Audio.silence(1.0), error=AudioDownloadError("HTTP 404"))
    with pytest.raises(AudioDownloadError):
        await world.enroll.execute(user_id=user, phone=None, source=failing)
    assert await world.users.get(user) is None
    assert world.model.calls == 0


async def test_a_phone_number_belongs_to_one_user(world: World) -> None:
    phone = PhoneNumber.parse("+14155550199")
    await world.enrol(UserId.new(), phone)
    with pytest.raises(PhoneNumberInUseError):
        await world.enrol(UserId.new(), phone)


async def test_the_enrolled_caller_is_accepted_early(world: World) -> None:
    user = UserId.new()
    await world.enrol(user)
    call = InMemoryAudioSource(voice(ALICE, 15.0, 9), channel="vapi", live=True)
    result = await world.verify.execute(user_id=user, source=call, correlation_id="call-7")
    assert result.decision is Decision.ACCEPT
    assert result.score is not None
    assert result.score.calibrated >= 0.92
    assert 1.0 <= result.speech_seconds < 3.0
    assert call.served_s < 4.0  # decided early: most of the call was never heard
    assert call.closed
    logged = (await world.attempts.history(user, limit=5)).items
    assert [a.id for a in logged] == [result.attempt.id]
    assert logged[0].channel == "vapi"
    assert logged[0].correlation_id == "call-7"
    assert logged[0].success


async def test_another_speaker_is_rejected(world: World) -> None:
    user = UserId.new()
    await world.enrol(user)
    call = InMemoryAudioSource(voice(BOB, 15.0, 4), channel="vapi", live=True)
    result = await world.verify.execute(user_id=user, source=call)
    assert result.decision is Decision.REJECT
    assert result.score is not None
    assert result.score.calibrated < 0.72
    assert not result.attempt.success


async def test_the_user_can_be_found_by_phone(world: World) -> None:
    user, phone = UserId.new(), PhoneNumber.parse("+14155550188")
    await world.enrol(user, phone)
    result = await world.verify.execute(
        phone=phone, source=InMemoryAudioSource(voice(ALICE, 5.0, 5))
    )
    assert result.attempt.user_id == user
    assert result.decision is Decision.ACCEPT


async def test_too_little_speech_is_not_enough_speech_not_a_low_score(world: World) -> None:
    user = UserId.new()
    await world.enrol(user)
    brief = Audio.concatenate([Audio.silence(2.0), voice(ALICE, 0.8, 6), Audio.silence(2.0)])
    result = await world.verify.execute(
        user_id=user, source=InMemoryAudioSource(brief, channel="vapi", live=True)
    )
    assert result.decision is Decision.NOT_ENOUGH_SPEECH
    assert result.score is None
    assert 0.0 < result.speech_seconds < 1.0
    assert (await world.attempts.history(user, limit=5)).items[
        0
    ].decision is Decision.NOT_ENOUGH_SPEECH


async def test_a_silent_call_is_a_capture_error_and_is_logged(world: World) -> None:
    user = UserId.new()
    await world.enrol(user)
    with pytest.raises(CaptureError) as caught:
        await world.verify.execute(
            user_id=user, source=InMemoryAudioSource(Audio.silence(4.0), channel="vapi", live=True)
        )
    assert caught.value.reason == "no_speech"
    logged = (await world.attempts.history(user, limit=5)).items
    assert logged[0].decision is Decision.ERROR
    assert logged[0].error == "CaptureError"


async def test_a_failing_capture_is_logged_and_raised(world: World) -> None:
    user = UserId.new()
    await world.enrol(user)
    broken = InMemoryAudioSource(
        voice(ALICE, 5.0, 3),
        channel="vapi",
        live=True,
        error=CaptureError("socket closed", reason="closed"),
        error_after_s=0.5,
    )
    with pytest.raises(CaptureError):
        await world.verify.execute(user_id=user, source=broken)
    assert broken.closed
    assert (await world.attempts.history(user, limit=5)).items[0].decision is Decision.ERROR


async def test_a_silent_upload_is_unusable_audio(world: World) -> None:
    user = UserId.new()
    await world.enrol(user)
    with pytest.raises(AudioProcessingError):
        await world.verify.execute(user_id=user, source=InMemoryAudioSource(Audio.silence(3.0)))
    assert (await world.attempts.history(user, limit=5)).items[0].error == "AudioProcessingError"


async def test_listening_stops_at_the_cap(world: World) -> None:
    user = UserId.new()
    await world.enrol(user)
    endless = InMemoryAudioSource(voice(BOB, 30.0, 2), channel="vapi", live=True)
    never_early = Verify(
        model=world.model,
        detector=EnergySpeechDetector(),
        users=world.users,
        attempts=world.attempts,
        policy=CosinePolicy(threshold=0.82, margin=1.0),
        clock=world.clock,
        gate=QualityGate(),
        plan=CapturePlan(max_audio_s=2.5, check_every_s=1.0, target_speech_s=20.0),
    )
    result = await never_early.execute(user_id=user, source=endless)
    assert result.audio_seconds == pytest.approx(2.5, abs=0.02)
    assert endless.served_s <= 2.6
    assert endless.closed
    assert result.decision is Decision.REJECT
    assert world.model.calls >= 2  # scored at each second of new audio, then at the cap


async def test_unknown_users_are_not_found_and_nothing_is_logged(world: World) -> None:
    with pytest.raises(UserNotFoundError):
        await world.verify.execute(
            user_id=UserId.new(), source=InMemoryAudioSource(voice(ALICE, 3.0, 1))
        )
    with pytest.raises(InvalidInputError):
        await world.verify.execute(source=InMemoryAudioSource(voice(ALICE, 3.0, 1)))
    assert world.attempts.store.attempts == []


async def test_list_get_history_and_erase(world: World) -> None:
    users = [UserId.new() for _ in range(3)]
    for index, user in enumerate(users):
        await world.enrol(user, seed=index)
    page = await ListUsers(users=world.users).execute(limit=2)
    assert len(page.items) == 2
    assert page.next_cursor is not None
    assert (await GetUser(users=world.users).execute(users[0])).user_id == users[0]
    await world.verify.execute(user_id=users[0], source=InMemoryAudioSource(voice(ALICE, 4.0, 8)))
    history = AuthHistory(users=world.users, attempts=world.attempts)
    assert len((await history.execute(users[0])).items) == 1
    with pytest.raises(InvalidInputError):
        await history.execute(users[0], limit=0)
    await DeleteUser(users=world.users).execute(users[0])
    with pytest.raises(UserNotFoundError):
        await history.execute(users[0])
    with pytest.raises(UserNotFoundError):
        await DeleteUser(users=world.users).execute(users[0])
    with pytest.raises(UserNotFoundError):
        await GetUser(users=world.users).execute(users[0])


async def test_recent_attempts_span_users_newest_first(world: World) -> None:
    from voiceauth_core import RecentAttempts

    first, second = UserId.new(), UserId.new()
    await world.enrol(first)
    await world.enrol(second, seed=2)
    for user in (first, second):
        await world.verify.execute(user_id=user, source=InMemoryAudioSource(voice(ALICE, 4.0, 8)))
    page = await RecentAttempts(attempts=world.attempts).execute(limit=10)
    assert [a.user_id for a in page.items] == [second, first]
    with pytest.raises(InvalidInputError):
        await RecentAttempts(attempts=world.attempts).execute(limit=0)
