"""The listen socket's channel layout, recognised from the first audio (property-tested)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from voiceauth_adapters.vapi import PcmFormat
from voiceauth_adapters.vapi.layout import (
    ChannelLayout,
    LayoutSource,
    classify_layout,
    layout_of,
)
from voiceauth_core.testing import ALICE, BOB, SyntheticSpeaker, synthetic_voice

pytestmark = pytest.mark.unit

_Signal = npt.NDArray[np.float64]


def pcm(frames: _Signal) -> bytes:
    return np.clip(np.round(frames * 32767.0), -32768, 32767).astype("<i2").tobytes()


ANY_SEED = st.integers(0, 10_000)


@st.composite
def voices(
    draw: st.DrawFn, rate: int = 16_000, seeds: st.SearchStrategy[int] = ANY_SEED
) -> _Signal:
    """Half a second of a synthetic voice: any pitch, formants, level, timing (``seeds``)."""
    audio = synthetic_voice(
        f0=draw(st.floats(80.0, 300.0)),
        formants=(
            draw(st.floats(300.0, 900.0)),
            draw(st.floats(900.0, 2200.0)),
            draw(st.floats(2200.0, 3400.0)),
        ),
        seconds=0.6,
        seed=draw(seeds),
        sample_rate=rate,
        level=draw(st.floats(0.02, 0.9)),
    )
    return audio.samples.astype(np.float64)


_CHECKS = settings(max_examples=25, deadline=None)


@_CHECKS
# Two people: never one timing and phase set (a shared seed made one voice twice, at two levels).
@given(
    voices(seeds=st.integers(0, 4_999)),
    voices(seeds=st.integers(5_000, 10_000)),
    st.floats(0.0, 1.0),
)
def test_two_voices_interleaved_are_stereo(caller: _Signal, other: _Signal, gain: float) -> None:
    # The assistant anywhere from silent to as loud as recorded.
    n = min(len(caller), len(other))
    assume(abs(np.corrcoef(caller[:n], other[:n])[0, 1]) < 0.5)  # two voices, not one twice
    frames = np.stack([caller[:n], gain * other[:n]], axis=1)
    assert classify_layout(pcm(frames)) is ChannelLayout.STEREO


@_CHECKS
@given(voices(), st.integers(-3, 3))
def test_one_voice_in_both_channels_is_duplicated(voice: _Signal, dither: int) -> None:
    frames = pcm(np.stack([voice, voice], axis=1))
    # Re-encoding may leave the copies a few least-significant bits apart.
    copy = np.frombuffer(frames, "<i2").reshape(-1, 2).astype(np.int32)
    copy[:, 1] = np.clip(copy[:, 1] + dither, -32768, 32767)
    assert classify_layout(copy.astype("<i2").tobytes()) is ChannelLayout.DUPLICATED


@_CHECKS
@given(st.sampled_from([16_000, 24_000]).flatmap(lambda rate: voices(rate=rate)))
def test_one_voice_sent_as_one_channel_is_mono(voice: _Signal) -> None:
    # Read as two channels, mono is its even and odd samples: one predicts the other.
    assert classify_layout(pcm(voice)) is ChannelLayout.MONO


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("speaker", [ALICE, BOB])
def test_a_telephone_rate_voice_sent_as_one_channel_is_mono(
    speaker: SyntheticSpeaker, seed: int
) -> None:
    # At 8 kHz only voices with strong formants near 4 kHz are missed (then read as stereo).
    voice = speaker.voice(seconds=0.5, seed=seed, sample_rate=8_000).samples
    assert classify_layout(pcm(voice.astype(np.float64))) is ChannelLayout.MONO


@given(st.binary(max_size=20_000))
def test_any_bytes_give_a_layout_or_none_and_never_fail(data: bytes) -> None:
    assert classify_layout(data) in (None, *ChannelLayout)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes(64_000),  # digital silence
        pcm(np.full((16_000, 2), 0.0005)),  # below -60 dBFS
        pcm(np.stack([np.ones(100), -np.ones(100)], axis=1) * 0.5),  # 6 ms: too little
    ],
)
def test_silence_or_too_little_audio_tells_nothing(data: bytes) -> None:
    assert classify_layout(data) is None


def test_the_format_follows_the_layout_and_keeps_the_configured_rate() -> None:
    configured = PcmFormat(sample_rate=8_000, channels=2, customer_channel=1)
    stereo = layout_of(ChannelLayout.STEREO, configured)
    assert (stereo.pcm, stereo.source) == (configured, LayoutSource.DETECTED)
    mono = layout_of(ChannelLayout.MONO, configured)
    assert mono.pcm == PcmFormat(sample_rate=8_000, channels=1, customer_channel=0)
    duplicated = layout_of(ChannelLayout.DUPLICATED, configured)
    assert duplicated.pcm == PcmFormat(sample_rate=8_000, channels=2, customer_channel=0)
    unknown = layout_of(None, configured)
    assert (unknown.layout, unknown.source, unknown.pcm) == (
        ChannelLayout.STEREO,
        LayoutSource.CONFIGURED,
        configured,
    )
    single = PcmFormat(sample_rate=16_000, channels=1)
    assert layout_of(None, single).layout is ChannelLayout.MONO
    assert layout_of(ChannelLayout.STEREO, single).pcm == PcmFormat(sample_rate=16_000)
