"""Listen-socket framing: de-interleaving across any message split, resampling, listen URLs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.signal import resample_poly

from voiceauth_adapters.vapi import (
    Deinterleaver,
    ListenUrlPolicy,
    PcmFormat,
    StreamingResampler,
    looks_like_pcm16,
    redacted,
)
from voiceauth_core import InvalidInputError
from voiceauth_core.testing import synthetic_voice

pytestmark = pytest.mark.unit


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (any order, duplicates allowed: empty messages)."""
    points = sorted(c % (len(data) + 1) for c in cuts)
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@st.composite
def interleaved(draw: st.DrawFn) -> tuple[np.ndarray, int, int]:
    channels = draw(st.sampled_from([1, 2]))
    customer = draw(st.integers(0, channels - 1))
    frames = draw(st.integers(0, 400))
    values = draw(
        st.lists(st.integers(-32768, 32767), min_size=frames * channels, max_size=frames * channels)
    )
    return np.array(values, dtype=np.int16).reshape(frames, channels), channels, customer


@given(interleaved(), st.lists(st.integers(0, 10_000), max_size=40))
def test_any_split_yields_exactly_the_customer_channel(
    stream: tuple[np.ndarray, int, int], cuts: list[int]
) -> None:
    frames, channels, customer = stream
    data = frames.astype("<i2").tobytes()
    deinterleaver = Deinterleaver(PcmFormat(channels=channels, customer_channel=customer))
    heard = []
    for piece in split(data, cuts):
        heard.append(deinterleaver.feed(piece))
        assert deinterleaver.pending_bytes < channels * 2
    assert np.array_equal(np.concatenate([np.zeros(0, np.int16), *heard]), frames[:, customer])
    assert deinterleaver.pending_bytes == 0


@given(st.binary(max_size=64), st.lists(st.integers(0, 100), max_size=10))
def test_a_trailing_partial_frame_is_held_back(tail: bytes, cuts: list[int]) -> None:
    deinterleaver = Deinterleaver(PcmFormat(channels=2))
    whole = b"\x01\x00\x02\x00" * 3  # three frames: customer 1, assistant 2
    total = 0
    for piece in split(whole + tail, cuts):
        total += len(deinterleaver.feed(piece))
    assert total == 3 + len(tail) // 4
    assert deinterleaver.pending_bytes == len(tail) % 4


def test_the_assistant_channel_never_leaks() -> None:
    frames = np.zeros((1000, 2), np.int16)
    frames[:, 1] = 30000  # a loud assistant, a silent caller
    heard = Deinterleaver(PcmFormat()).feed(frames.astype("<i2").tobytes())
    assert not heard.any()


@pytest.mark.parametrize(
    "kwargs", [{"channels": 0}, {"channels": 2, "customer_channel": 2}, {"sample_rate": 10}]
)
def test_impossible_formats_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        PcmFormat(**kwargs)


RATES = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000]


@given(
    st.sampled_from(RATES),
    st.integers(0, 3000),
    st.lists(st.integers(0, 3000), max_size=12),
    st.integers(0, 2**32 - 1),
)
def test_streaming_resampling_equals_one_shot_resampling_whatever_the_chunks(
    rate: int, length: int, cuts: list[int], seed: int
) -> None:
    signal = np.random.default_rng(seed).uniform(-0.5, 0.5, length)
    resampler = StreamingResampler(rate, 16_000)
    points = sorted(c % (length + 1) for c in cuts)
    edges = [0, *points, length]
    pieces = [resampler.process(signal[a:b]) for a, b in itertools.pairwise(edges)]
    streamed = np.concatenate([*pieces, resampler.flush()])
    expected = signal.astype(np.float32) if rate == 16_000 else resample_poly(signal, 16_000, rate)
    assert len(streamed) == len(expected)
    assert np.allclose(streamed, expected, atol=1e-5)


def test_downsampling_filters_what_would_alias() -> None:
    t = np.arange(48_000) / 48_000
    tone = 0.5 * np.sin(2 * np.pi * 12_000 * t)  # above the 8 kHz Nyquist of 16 kHz audio
    resampler = StreamingResampler(48_000, 16_000)
    out = np.concatenate([resampler.process(tone), resampler.flush()])
    assert np.sqrt(np.mean(out[1000:-1000] ** 2)) < 0.01


def test_speech_looks_like_pcm_but_random_bytes_do_not() -> None:
    speech = synthetic_voice(seconds=1.0, seed=5, level=0.99).samples
    assert looks_like_pcm16(speech)
    assert looks_like_pcm16(np.zeros(8000, np.float32))
    noise = np.frombuffer(np.random.default_rng(1).bytes(16_000), "<i2") / 32768.0
    assert not looks_like_pcm16(noise.astype(np.float32))
    big_endian = np.round(speech * 32767).astype(">i2").tobytes()
    swapped = np.frombuffer(big_endian, "<i2") / 32768.0
    assert not looks_like_pcm16(swapped.astype(np.float32))


ACCEPTED = [
    "wss://phone-call-websocket.aws-us-west-2-backend-production2.vapi.ai/123/listen",
    "wss://vapi.ai/x/listen",
    "WSS://API.VAPI.AI./abc/listen",
]
REFUSED = [
    "ws://phone-call-websocket.vapi.ai/123/listen",  # no TLS
    "wss://vapi.ai.evil.example/123/listen",
    "wss://evilvapi.ai/123/listen",
    "wss://127.0.0.1:9000/123/listen",
    "ws://localhost:9000/123/listen",
    "https://vapi.ai/123/listen",
    "wss://user:pass@vapi.ai/123/listen",
    "not a url",
    "",
]


@pytest.mark.parametrize("url", ACCEPTED)
def test_vapi_hosts_over_tls_are_accepted(url: str) -> None:
    ListenUrlPolicy().check(url)


@pytest.mark.parametrize("url", REFUSED)
def test_everything_else_is_refused_by_default(url: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        ListenUrlPolicy().check(url)
    assert "123" not in caught.value.message  # the URL is never echoed


def test_development_admits_local_plain_sockets_but_not_public_ones() -> None:
    dev = ListenUrlPolicy(allow_private_networks=True)
    dev.check("ws://127.0.0.1:9000/c/listen")
    dev.check("ws://localhost:9000/c/listen")
    dev.check("ws://[::1]:9000/c/listen")
    for refused in ("ws://vapi.ai/c/listen", "wss://8.8.8.8/c/listen", "ws://example.com/x"):
        with pytest.raises(InvalidInputError):
            dev.check(refused)


def test_the_allow_list_is_configurable() -> None:
    policy = ListenUrlPolicy(allowed_hosts=("calls.example.org",))
    policy.check("wss://eu.calls.example.org/c/listen")
    with pytest.raises(InvalidInputError):
        policy.check("wss://phone.vapi.ai/c/listen")


def test_a_listen_url_is_logged_as_host_and_hash_only() -> None:
    url = "wss://phone.vapi.ai/9f1c-secret-call-id/listen"
    shown = redacted(url)
    assert shown.startswith("phone.vapi.ai#")
    assert "9f1c" not in shown
    assert redacted(url) == shown
    assert redacted(url.replace("9f1c", "9f1d")) != shown
