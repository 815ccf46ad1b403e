"""Content types, headerless audio (G.711 mu-law, 16-bit PCM), downmix and resampling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceauth_adapters.audio import (
    AudioDecoderLimits,
    FfmpegSoundfileDecoder,
    MediaType,
    RawEncoding,
    decode_raw,
    mulaw_decode,
    to_canonical,
)
from voiceauth_adapters.audio.telephone import mulaw_encode
from voiceauth_core import AudioProcessingError

pytestmark = pytest.mark.unit


def test_a_content_type_is_parsed_with_its_parameters() -> None:
    media = MediaType.parse('Audio/L16; Rate=8000; channels="2"')
    assert media.kind == "audio/l16"
    assert media.params == {"rate": "8000", "channels": "2"}
    assert media.raw is RawEncoding.PCM16BE
    assert media.raw_layout() == (8000, 2)


@pytest.mark.parametrize(
    ("content_type", "encoding", "layout"),
    [
        ("audio/basic", RawEncoding.MULAW, (8000, 1)),
        ("audio/PCMU", RawEncoding.MULAW, (8000, 1)),
        ("audio/x-mulaw;rate=16000", RawEncoding.MULAW, (16000, 1)),
        ("audio/pcm;rate=16000", RawEncoding.PCM16LE, (16000, 1)),
        ("audio/L16;rate=44100;channels=2", RawEncoding.PCM16BE, (44100, 2)),
    ],
)
def test_raw_types_and_their_layouts(
    content_type: str, encoding: RawEncoding, layout: tuple[int, int]
) -> None:
    media = MediaType.parse(content_type)
    assert media.raw is encoding
    assert media.raw_layout() == layout


@pytest.mark.parametrize(
    ("content_type", "forced", "ffmpeg_only"),
    [
        (None, None, False),
        ("application/octet-stream", None, False),
        ("audio/mpeg", "mp3", False),
        ("audio/ogg; codecs=opus", "ogg", False),
        ("audio/mp4", "mov", True),
        ("audio/x-m4a", "mov", True),
        ("audio/webm;codecs=opus", "matroska", True),
        ("audio/aac", "aac", True),
        ("audio/wav", "wav", False),
    ],
)
def test_containers_pick_the_ffmpeg_demuxer(
    content_type: str | None, forced: str | None, ffmpeg_only: bool
) -> None:
    media = MediaType.parse(content_type)
    assert media.raw is None
    assert media.ffmpeg_format == forced
    assert media.ffmpeg_only is ffmpeg_only


@pytest.mark.parametrize(
    "content_type", ["audio/pcm", "audio/L16", "audio/pcm;rate=x", "audio/pcm;rate=100"]
)
def test_raw_pcm_needs_a_usable_declared_rate(content_type: str) -> None:
    with pytest.raises(AudioProcessingError) as caught:
        MediaType.parse(content_type).raw_layout()
    assert caught.value.reason == "undecodable"


def test_mulaw_decoding_inverts_g711_encoding_on_every_code() -> None:
    codes = np.arange(256, dtype=np.uint8)
    linear = np.round(mulaw_decode(codes.tobytes()) * 32768).astype(np.int16)
    again = mulaw_encode(linear)
    # 0x7F and 0xFF are both zero (positive and negative); every other code survives.
    same = (again == codes) | ((codes & 0x7F) == 0x7F)
    assert same.all()
    assert linear.max() == 32124
    assert linear.min() == -32124


def test_pcm_of_either_byte_order_and_interleaved_channels() -> None:
    values = np.array([0, 16384, -16384, 32767, -32768, 1], dtype=np.int16)
    little = decode_raw(values.astype("<i2").tobytes(), RawEncoding.PCM16LE, 1)
    big = decode_raw(values.astype(">i2").tobytes(), RawEncoding.PCM16BE, 1)
    assert np.array_equal(little, big)
    assert little[:, 0].tolist() == pytest.approx([0, 0.5, -0.5, 32767 / 32768, -1.0, 1 / 32768])
    stereo = decode_raw(values.astype("<i2").tobytes() + b"\x01", RawEncoding.PCM16LE, 2)
    assert stereo.shape == (3, 2)  # the odd byte and nothing else is dropped


def test_downmix_is_the_mean_and_resampling_keeps_the_duration() -> None:
    t = np.arange(44100) / 44100
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    frames = np.stack([tone, np.zeros_like(tone)], axis=1)
    audio = to_canonical(frames, 44100)
    assert audio.sample_rate == 16000
    assert len(audio.samples) == 16000
    assert audio.rms() == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_resampling_removes_what_would_alias() -> None:
    t = np.arange(48000) / 48000
    high = np.sin(2 * np.pi * 11000 * t).astype(np.float32)[:, None]  # above the new Nyquist
    middle = to_canonical(high, 48000).slice(0.1, 0.9)  # away from the abrupt start and end
    assert middle.rms() < 1e-3  # naive decimation would fold it to 5 kHz at full level


async def test_raw_audio_longer_than_the_limit_is_refused() -> None:
    decoder = FfmpegSoundfileDecoder(AudioDecoderLimits(max_seconds=1.0))
    with pytest.raises(AudioProcessingError) as caught:
        await decoder.decode(bytes(8001), content_type="audio/basic")
    assert caught.value.reason == "too_long"
    assert (await decoder.decode(bytes(8000), content_type="audio/basic")).duration == 1.0


@given(st.binary(max_size=4000), st.sampled_from(["audio/basic", "audio/pcm;rate=16000"]))
def test_any_bytes_declared_raw_decode_to_bounded_audio(data: bytes, content_type: str) -> None:
    decoder = FfmpegSoundfileDecoder()
    bytes_per_sample = 1 if content_type == "audio/basic" else 2
    if len(data) < bytes_per_sample:
        with pytest.raises(AudioProcessingError) as caught:
            decoder.decode_sync(data, content_type)
        assert caught.value.reason == "empty"
        return
    audio = decoder.decode_sync(data, content_type)
    assert audio.sample_rate == 16000
    assert np.all(np.abs(audio.samples) <= 1.0)
