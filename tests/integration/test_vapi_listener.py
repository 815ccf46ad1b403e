"""The VAPI listener against a real local listen-socket server: only the caller, every failure."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.contract.audio_source_contract import AudioSourceContract, MakeSource
from tests.integration.running_app import served_app
from tests.unit.web.app_harness import fake_container
from voiceauth_adapters.vapi import PcmFormat, VapiListener, VapiListenSource
from voiceauth_adapters.vapi.layout import ChannelLayout, LayoutSource, ListenLayout
from voiceauth_adapters.vapi.testing import (
    Failure,
    ListenCall,
    VapiListenServer,
    refused_url,
    tls_contexts,
)
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
    Verify,
)
from voiceauth_core.ports import EmbeddingModel
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
    wav_bytes,
)

pytestmark = pytest.mark.integration


def voice(who: SyntheticSpeaker, seconds: float = 2.0, seed: int = 1) -> Audio:
    return who.voice(seconds=seconds, seed=seed)


def correlation(heard: Audio, sent: Audio) -> float:
    n = min(len(heard.samples), len(sent.samples))
    return float(np.corrcoef(heard.samples[:n], sent.samples[:n])[0, 1])


@pytest.fixture
async def server() -> AsyncIterator[VapiListenServer]:
    async with VapiListenServer() as running:
        yield running


@pytest.fixture
async def listener() -> AsyncIterator[VapiListener]:
    # Local test servers need the development setting (ws:// on loopback).
    async with VapiListener(
        allow_private_networks=True, timeout_s=5.0, connect_timeout_s=1.0
    ) as opened:
        yield opened


async def test_hears_the_caller_and_never_the_assistant(
    server: VapiListenServer, listener: VapiListener
) -> None:
    alice, bob = voice(ALICE), voice(BOB, seed=2)
    heard = await listener.source(server.add(ListenCall(caller=alice, assistant=bob))).fetch()
    assert heard.duration == pytest.approx(alice.duration, abs=0.001)
    assert correlation(heard, alice) > 0.999
    assert abs(correlation(heard, bob)) < 0.2


@pytest.mark.parametrize("rate", [8000, 22050, 24000, 44100, 48000])
async def test_a_start_frame_sets_the_rate_and_the_caller_is_resampled(
    server: VapiListenServer, listener: VapiListener, rate: int
) -> None:
    alice = voice(ALICE)
    call = ListenCall(caller=alice, assistant=voice(BOB), sample_rate=rate)
    heard = await listener.source(server.add(call)).fetch()
    assert heard.sample_rate == 16_000
    assert heard.duration == pytest.approx(alice.duration, abs=0.01)
    assert correlation(heard, alice) > (0.9 if rate == 8000 else 0.99)


async def test_without_a_start_frame_the_configured_format_is_used(
    server: VapiListenServer,
) -> None:
    alice = voice(ALICE)
    call = ListenCall(
        caller=alice, assistant=voice(BOB), sample_rate=8000, customer_channel=1, send_start=False
    )
    async with VapiListener(
        allow_private_networks=True, pcm=PcmFormat(sample_rate=8000, customer_channel=1)
    ) as configured:
        heard = await configured.source(server.add(call)).fetch()
    assert correlation(heard, alice) > 0.9


async def test_mono_streams_work_announced_or_configured(server: VapiListenServer) -> None:
    alice = voice(ALICE)
    async with VapiListener(allow_private_networks=True) as default:
        announced = await default.source(server.add(ListenCall(caller=alice, channels=1))).fetch()
    async with VapiListener(allow_private_networks=True, pcm=PcmFormat(channels=1)) as mono:
        call = ListenCall(caller=alice, channels=1, send_start=False)
        configured = await mono.source(server.add(call)).fetch()
    for heard in (announced, configured):
        assert correlation(heard, alice) > 0.999


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        ({"type": "start", "encoding": "mulaw", "sampleRate": 8000, "channels": 2}, "bad_audio"),
        ({"type": "start", "sampleRate": "fast", "channels": 2}, "bad_audio"),
        ({"type": "start", "sampleRate": 16000, "channels": 5}, "bad_audio"),
        ({"type": "start", "sampleRate": 16000.0, "channels": 2.0}, None),
        ({"type": "start", "sampleRate": 16000}, None),  # channels: the configured default
    ],
)
async def test_the_start_frame_is_checked(
    server: VapiListenServer, listener: VapiListener, start: dict[str, object], reason: str | None
) -> None:
    alice = voice(ALICE)
    call = ListenCall(caller=alice, assistant=voice(BOB), start_event=start)
    source = listener.source(server.add(call))
    if reason is None:
        assert correlation(await source.fetch(), alice) > 0.999
        return
    with pytest.raises(CaptureError) as caught:
        await source.fetch()
    assert caught.value.reason == reason


async def test_an_ipv6_loopback_server_works_in_development(listener: VapiListener) -> None:
    alice = voice(ALICE)
    async with VapiListenServer("::1") as server:
        heard = await listener.source(server.add(ListenCall(caller=alice))).fetch()
    assert correlation(heard, alice) > 0.999


async def test_frames_that_split_samples_are_reassembled(
    server: VapiListenServer, listener: VapiListener
) -> None:
    alice = voice(ALICE)
    call = ListenCall(caller=alice, assistant=voice(BOB), odd_frames=True)
    heard = await listener.source(server.add(call)).fetch()
    expected = np.round(alice.samples.astype(np.float64) * 32767) / 32768.0
    assert np.allclose(heard.samples, expected, atol=1e-6)


async def test_swapping_the_channels_changes_the_embedding(
    server: VapiListenServer, listener: VapiListener
) -> None:
    model: EmbeddingModel = SpectralEmbeddingModel()
    alice, bob = voice(ALICE, 3.0, seed=3), voice(BOB, 3.0, seed=4)
    normal = await listener.source(server.add(ListenCall(caller=alice, assistant=bob))).fetch()
    swapped = await listener.source(server.add(ListenCall(caller=bob, assistant=alice))).fetch()
    heard_normal, heard_swapped = await model.embed(normal), await model.embed(swapped)
    alone_alice, alone_bob = await model.embed(alice), await model.embed(bob)
    assert heard_normal.cosine(alone_alice) > 0.99  # channel 1 added nothing
    assert heard_swapped.cosine(alone_bob) > 0.99
    assert heard_normal.cosine(heard_swapped) < alone_alice.cosine(alone_bob) + 0.01


async def test_the_public_key_is_sent_and_a_wrong_one_is_a_clear_error(
    server: VapiListenServer,
) -> None:
    alice = voice(ALICE)
    async with VapiListener(allow_private_networks=True, public_key="pk-right") as keyed:
        call = ListenCall(caller=alice, token="pk-right")
        assert (await keyed.source(server.add(call)).fetch()).duration > 1.9
    assert call.authorizations == ["Bearer pk-right"]
    async with VapiListener(allow_private_networks=True, public_key="pk-wrong") as wrong:
        with pytest.raises(CaptureError) as caught:
            await wrong.source(server.add(ListenCall(caller=alice, token="pk-right"))).fetch()
    assert caught.value.reason == "auth_rejected"


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (Failure.REJECT, "connect_failed"),
        (Failure.STALL_HANDSHAKE, "connect_timeout"),
        (Failure.CLOSE_AT_ONCE, "closed"),
        (Failure.ONLY_JSON, "no_audio"),
        (Failure.NEVER_AUDIO, "no_audio"),
        (Failure.GARBAGE, "bad_audio"),
        (Failure.TINY, "bad_audio"),
        (Failure.HANG, "timeout"),
    ],
)
async def test_every_failure_is_a_capture_error_with_a_reason(
    server: VapiListenServer, failure: Failure, reason: str
) -> None:
    call = ListenCall(caller=voice(ALICE), assistant=voice(BOB), failure=failure)
    async with VapiListener(
        allow_private_networks=True, timeout_s=1.0, connect_timeout_s=0.5
    ) as quick:
        source = quick.source(server.add(call))
        with pytest.raises(CaptureError) as caught:
            await source.fetch()
    assert caught.value.reason == reason
    assert caught.value.name == "CaptureError"
    assert "listen" not in caught.value.message  # no URL, no internals
    if call.connections:  # the server saw the listener leave
        await asyncio.wait_for(call.disconnected.wait(), 5)


async def test_connection_refused(listener: VapiListener) -> None:
    with pytest.raises(CaptureError) as caught:
        await listener.source(refused_url()).fetch()
    assert caught.value.reason == "connect_failed"


async def test_tls_is_verified_and_a_trusted_certificate_works() -> None:
    server_tls, client_tls = tls_contexts()
    alice = voice(ALICE)
    async with VapiListenServer(ssl_context=server_tls) as secure:
        async with VapiListener(allow_private_networks=True) as untrusting:
            with pytest.raises(CaptureError) as caught:
                await untrusting.source(secure.add(ListenCall(caller=alice))).fetch()
        assert caught.value.reason == "tls_error"
        async with VapiListener(allow_private_networks=True, ssl_context=client_tls) as trusting:
            heard = await trusting.source(secure.add(ListenCall(caller=alice))).fetch()
        assert correlation(heard, alice) > 0.999


async def test_the_socket_closes_as_soon_as_the_consumer_stops(
    server: VapiListenServer, listener: VapiListener
) -> None:
    call = ListenCall(caller=voice(ALICE, 20.0), assistant=voice(BOB, 20.0), speed=1.0)
    source = listener.source(server.add(call))
    async with aclosing(source.stream()) as stream:
        async for chunk in stream:
            assert chunk.duration > 0
            break
    await asyncio.wait_for(call.disconnected.wait(), 5)
    assert not call.completed  # the 20 s call was still playing when we left


async def test_a_server_that_never_answers_our_close_is_dropped_within_a_second(
    server: VapiListenServer, listener: VapiListener
) -> None:
    # It keeps streaming and never answers the close frame: aiohttp's close would read on until
    # the call's audio ends, holding the decision that long.
    call = ListenCall(
        caller=voice(ALICE, 6.0),
        assistant=voice(BOB, 6.0),
        speed=1.0,
        failure=Failure.IGNORE_CLOSE,
    )
    source = listener.source(server.add(call))
    async with aclosing(source.stream()) as stream:
        async for chunk in stream:
            assert chunk.duration > 0
            break
        stopped = time.perf_counter()
    assert time.perf_counter() - stopped <= 1.5
    await asyncio.wait_for(call.disconnected.wait(), 0.5)  # dropped, not left half-open
    assert not call.completed


async def test_audio_is_capped_at_max_audio_seconds(server: VapiListenServer) -> None:
    call = ListenCall(caller=voice(ALICE, 6.0), speed=4.0)
    async with VapiListener(allow_private_networks=True, max_audio_s=1.0) as capped:
        heard = await capped.source(server.add(call)).fetch()
    assert heard.duration == pytest.approx(1.0, abs=1e-9)
    await asyncio.wait_for(call.disconnected.wait(), 5)
    assert not call.completed


async def test_the_timeout_ends_a_capture_that_has_audio_without_error(
    server: VapiListenServer,
) -> None:
    call = ListenCall(caller=voice(ALICE, 20.0), speed=1.0, close_at_end=False)
    async with VapiListener(allow_private_networks=True, timeout_s=1.0) as short:
        heard = await short.source(server.add(call)).fetch()
    assert 0.2 < heard.duration < 1.5
    assert not call.completed


async def test_connecting_early_keeps_the_first_words(
    server: VapiListenServer, listener: VapiListener
) -> None:
    alice = voice(ALICE)
    async with listener.source(server.add(ListenCall(caller=alice))) as source:
        assert isinstance(source, VapiListenSource)
        await asyncio.sleep(0.2)  # the service looks the user up meanwhile
        heard = await source.fetch()
    assert correlation(heard, alice) > 0.999


async def test_only_allowed_listen_urls_are_opened(server: VapiListenServer) -> None:
    url = server.add(ListenCall(caller=voice(ALICE)))
    async with VapiListener() as production:
        for refused in (url, "wss://evil.example/123/listen", "ws://phone.vapi.ai/1/listen"):
            with pytest.raises(InvalidInputError):
                production.source(refused)


async def test_the_listen_url_is_never_logged_in_full(
    server: VapiListenServer, listener: VapiListener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="voiceauth_adapters")
    url = server.add(ListenCall(caller=voice(ALICE)))
    call_id = url.rsplit("/", 2)[1]
    await listener.source(url).fetch()
    with pytest.raises(CaptureError):
        await listener.source(
            server.add(ListenCall(caller=voice(ALICE), failure=Failure.TINY))
        ).fetch()
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("voiceauth")]
    assert messages
    assert all(call_id not in m and "/listen" not in m for m in messages)


@pytest.mark.parametrize("failure", [Failure.REJECT, Failure.TINY])
async def test_a_capture_error_carries_no_trace_of_the_listen_url(
    server: VapiListenServer, listener: VapiListener, failure: Failure
) -> None:
    url = server.add(ListenCall(caller=voice(ALICE), failure=failure))
    call_id = url.rsplit("/", 2)[1]
    with pytest.raises(CaptureError) as caught:
        await listener.source(url).fetch()
    error: BaseException | None = caught.value
    while error is not None:  # what a traceback logger would print, causes included
        assert call_id not in str(error)
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)


# --- the channel layout, announced or recognised -----------------------------------------------


def layout_call(kind: str, alice: Audio) -> ListenCall:
    """A call without a ``start`` frame in each layout a client may send."""
    bob = voice(BOB, seed=2)
    calls = {
        "stereo": ListenCall(caller=alice, assistant=bob, send_start=False),
        "stereo-quiet-assistant": ListenCall(caller=alice, send_start=False),
        "duplicated": ListenCall(caller=alice, duplicated=True, send_start=False),
        "mono": ListenCall(caller=alice, channels=1, send_start=False),
    }
    return calls[kind]


@pytest.mark.parametrize(
    ("kind", "layout"),
    [
        ("stereo", ChannelLayout.STEREO),
        ("stereo-quiet-assistant", ChannelLayout.STEREO),
        ("duplicated", ChannelLayout.DUPLICATED),
        ("mono", ChannelLayout.MONO),
    ],
)
async def test_without_a_start_frame_the_layout_is_recognised(
    server: VapiListenServer, kind: str, layout: ChannelLayout, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voiceauth_adapters")
    alice, seen = voice(ALICE), list[ListenLayout]()
    # The configured default (16 kHz, two channels) is what every layout is first read as.
    async with VapiListener(allow_private_networks=True, on_layout=seen.append) as listener:
        url = server.add(layout_call(kind, alice))
        heard = await listener.source(url).fetch()
    assert heard.duration == pytest.approx(alice.duration, abs=0.001)
    assert correlation(heard, alice) > 0.999
    assert [(s.layout, s.source) for s in seen] == [(layout, LayoutSource.DETECTED)]
    lines = [r.getMessage() for r in caplog.records if "layout" in r.getMessage()]
    channels = seen[0].pcm.channels
    expected = f"call audio layout: {layout} (detected), 16000 Hz, {channels} channel(s)"
    assert lines == [f"{expected}, caller on channel 0"]
    assert url.rsplit("/", 2)[1] not in lines[0]
    assert "127.0.0.1" not in lines[0]


async def test_recognised_stereo_keeps_the_configured_caller_channel(
    server: VapiListenServer,
) -> None:
    alice, seen = voice(ALICE), list[ListenLayout]()
    call = ListenCall(caller=alice, assistant=voice(BOB), customer_channel=1, send_start=False)
    pcm = PcmFormat(customer_channel=1)
    async with VapiListener(allow_private_networks=True, pcm=pcm, on_layout=seen.append) as one:
        heard = await one.source(server.add(call)).fetch()
    assert correlation(heard, alice) > 0.999
    assert [s.pcm for s in seen] == [pcm]


@pytest.mark.parametrize("duplicated", [False, True])
async def test_a_start_frame_is_honoured_without_looking_at_the_audio(
    server: VapiListenServer, duplicated: bool
) -> None:
    # Today's path: a stereo start frame means stereo, caller on channel 0, whatever follows.
    alice, seen = voice(ALICE), list[ListenLayout]()
    call = ListenCall(caller=alice, assistant=voice(BOB), duplicated=duplicated)
    async with VapiListener(allow_private_networks=True, on_layout=seen.append) as listener:
        heard = await listener.source(server.add(call)).fetch()
    assert correlation(heard, alice) > 0.999
    assert [(s.layout, s.source, s.pcm) for s in seen] == [
        (ChannelLayout.STEREO, LayoutSource.ANNOUNCED, PcmFormat())
    ]


async def test_silence_at_first_means_the_configured_format(server: VapiListenServer) -> None:
    alice, seen = voice(ALICE), list[ListenLayout]()
    quiet = Audio(samples=np.zeros(24_000, np.float32), sample_rate=16_000)  # 1.5 s
    call = ListenCall(caller=Audio.concatenate([quiet, alice]), send_start=False)
    async with VapiListener(allow_private_networks=True, on_layout=seen.append) as listener:
        heard = await listener.source(server.add(call)).fetch()
    assert correlation(Audio(samples=heard.samples[24_000:], sample_rate=16_000), alice) > 0.999
    assert [(s.layout, s.source) for s in seen] == [(ChannelLayout.STEREO, LayoutSource.CONFIGURED)]


async def test_the_service_counts_each_layout_in_its_metrics(
    tmp_path: Path, server: VapiListenServer
) -> None:
    container = fake_container(tmp_path)
    alice = voice(ALICE)
    async with container.adapters.listener() as listener:
        for kind in ("mono", "mono", "duplicated"):
            await listener.source(server.add(layout_call(kind, alice))).fetch()
        await listener.source(server.add(ListenCall(caller=alice))).fetch()  # announced
    counted = container.metrics().listen_layout
    assert counted.labels("mono", "detected")._value.get() == 2
    assert counted.labels("duplicated", "detected")._value.get() == 1
    assert counted.labels("stereo", "announced")._value.get() == 1
    assert counted.labels("stereo", "detected")._value.get() == 0


# --- through the Verify use case --------------------------------------------------------------


async def make_verify(model: EmbeddingModel) -> tuple[Verify, InMemoryAttemptLog, UserId]:
    store = InMemoryStore()
    users, attempts = InMemoryUserRepository(store), InMemoryAttemptLog(store)
    detector, clock = EnergySpeechDetector(), ManualClock()
    gate = QualityGate(min_enroll_speech_s=3.0, strong_enroll_speech_s=8.0, min_verify_speech_s=1.0)
    user = UserId.new()
    await Enroll(model=model, detector=detector, users=users, clock=clock, gate=gate).execute(
        user_id=user, phone=None, source=InMemoryAudioSource(voice(ALICE, 6.0, seed=11))
    )
    verify = Verify(
        model=model,
        detector=detector,
        users=users,
        attempts=attempts,
        policy=CosinePolicy(threshold=0.82, margin=0.1),
        clock=clock,
        gate=gate,
        plan=CapturePlan(max_audio_s=10.0, check_every_s=1.0, target_speech_s=4.0),
    )
    return verify, attempts, user


async def test_verify_accepts_the_caller_and_ignores_the_assistant(
    server: VapiListenServer, listener: VapiListener
) -> None:
    verify, _attempts, user = await make_verify(SpectralEmbeddingModel())
    genuine = ListenCall(caller=voice(ALICE, 6.0, seed=12), assistant=voice(BOB, 6.0, seed=13))
    result = await verify.execute(source=listener.source(server.add(genuine)), user_id=user)
    assert result.decision is Decision.ACCEPT
    assert result.attempt.channel == "vapi"
    # Bob calls while the assistant speaks with Alice's voice: rejected.
    impostor = ListenCall(caller=voice(BOB, 6.0, seed=14), assistant=voice(ALICE, 6.0, seed=15))
    result = await verify.execute(source=listener.source(server.add(impostor)), user_id=user)
    assert result.decision is Decision.REJECT


async def test_verify_answers_at_its_decision_when_the_server_never_answers_our_close(
    server: VapiListenServer, listener: VapiListener
) -> None:
    verify, _attempts, user = await make_verify(SpectralEmbeddingModel())
    call = ListenCall(
        caller=voice(ALICE, 12.0, seed=12),
        assistant=voice(BOB, 12.0, seed=13),
        speed=2.0,
        failure=Failure.IGNORE_CLOSE,
    )
    result = await verify.execute(source=listener.source(server.add(call)), user_id=user)
    answered = time.perf_counter()
    assert result.decision is Decision.ACCEPT
    decided_on = call.time_sent(result.audio_seconds)  # when the audio it decided on went out
    assert decided_on is not None
    assert answered - decided_on <= 1.5
    assert not call.completed  # the 12 s call (6 s at double speed) was still playing


async def test_verify_reports_a_silent_caller_as_no_speech_and_logs_it(
    server: VapiListenServer, listener: VapiListener
) -> None:
    verify, attempts, user = await make_verify(SpectralEmbeddingModel())
    silent = ListenCall(caller=Audio.silence(3.0), assistant=voice(BOB, 3.0))
    with pytest.raises(CaptureError) as caught:
        await verify.execute(source=listener.source(server.add(silent)), user_id=user)
    assert caught.value.reason == "no_speech"
    logged = (await attempts.history(user, limit=5)).items
    assert [a.decision for a in logged] == [Decision.ERROR]
    assert logged[0].error == "CaptureError"


async def test_verify_logs_a_failed_capture(server: VapiListenServer) -> None:
    verify, attempts, user = await make_verify(SpectralEmbeddingModel())
    call = ListenCall(caller=voice(ALICE), failure=Failure.HANG)
    async with VapiListener(allow_private_networks=True, timeout_s=0.5) as quick:
        with pytest.raises(CaptureError) as caught:
            await verify.execute(source=quick.source(server.add(call)), user_id=user)
    assert caught.value.reason == "timeout"
    assert (await attempts.history(user, limit=5)).items[0].decision is Decision.ERROR


async def test_verify_password_answers_at_its_decision_when_the_server_never_answers_our_close(
    server: VapiListenServer, tmp_path: Path
) -> None:
    # The HTTP service over a socket (fake model, real listener): as a new user would try it.
    call = ListenCall(
        caller=voice(ALICE, 16.0, seed=12),
        assistant=voice(BOB, 16.0, seed=13),
        speed=2.0,
        failure=Failure.IGNORE_CLOSE,
    )
    user = str(UserId.new())
    with served_app(tmp_path, target_verify_speech=4.0) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            enrolled = await client.post(
                f"/api/v1/users/{user}/enrollments",
                files={"file": ("a.wav", wav_bytes(voice(ALICE, 6.0, seed=11)), "audio/wav")},
            )
            assert enrolled.status_code == 200, enrolled.text
            answer = await client.post(
                "/api/v1/verify-password", json={"userId": user, "listenUrl": server.add(call)}
            )
            answered = time.perf_counter()
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"] == "accept"
    decided_on = call.time_sent(answer.json()["audioSeconds"])
    assert decided_on is not None
    assert answered - decided_on <= 1.5
    assert not call.completed  # the 16 s call (8 s at double speed) was still playing


class TestVapiListenSource(AudioSourceContract):
    @pytest.fixture
    def make_source(self, server: VapiListenServer, listener: VapiListener) -> MakeSource:
        async def make(audio: Audio) -> VapiListenSource:
            call = ListenCall(caller=audio, assistant=voice(BOB, audio.duration, seed=9))
            return listener.source(server.add(call))

        return make
