"""The real decoder: every common format made by ffmpeg from one WAV, raw PCM, mu-law, limits."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.contract.audio_decoder_contract import AudioDecoderContract
from tests.integration.real_model import speech
from voiceauth_adapters.audio import (
    AudioDecoderLimits,
    FfmpegSoundfileDecoder,
    FileAudioSource,
    ffmpeg_executable,
)
from voiceauth_core import AudioProcessingError
from voiceauth_core.testing import synthetic_voice, wav_bytes

pytestmark = pytest.mark.integration


class TestFfmpegSoundfileDecoder(AudioDecoderContract):
    @pytest.fixture
    def decoder(self) -> FfmpegSoundfileDecoder:
        return FfmpegSoundfileDecoder()


def encode(wav: Path, out: Path, *args: str) -> bytes:
    subprocess.run(
        [
            ffmpeg_executable(),
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(wav),
            *args,
            str(out),
        ],
        check=True,
        timeout=60,
    )
    return out.read_bytes()


FORMATS = [
    ("flac", "audio/flac", ()),
    ("ogg", "audio/ogg", ("-c:a", "libopus")),
    ("mp3", "audio/mpeg", ()),
    ("m4a", "audio/mp4", ("-c:a", "aac")),
    ("webm", "audio/webm", ("-c:a", "libopus")),
    ("aac", "audio/aac", ("-c:a", "aac")),
]


@pytest.mark.parametrize(("suffix", "content_type", "args"), FORMATS)
@pytest.mark.parametrize("declare", [True, False])
async def test_every_common_format_decodes_to_the_same_voice(
    tmp_path: Path, suffix: str, content_type: str, args: tuple[str, ...], declare: bool
) -> None:
    clip = speech("103_a").slice(0, 3.0)
    wav = tmp_path / "in.wav"
    wav.write_bytes(wav_bytes(clip))
    data = encode(wav, tmp_path / f"out.{suffix}", *args)
    decoded = await FfmpegSoundfileDecoder().decode(
        data, content_type=content_type if declare else None
    )
    assert decoded.sample_rate == 16000
    assert decoded.duration == pytest.approx(3.0, abs=0.1)
    assert decoded.rms() == pytest.approx(clip.rms(), rel=0.25)


async def test_raw_pcm_and_mulaw_with_a_declared_rate(tmp_path: Path) -> None:
    clip = speech("1088_a").slice(0, 2.0)
    wav = tmp_path / "in.wav"
    wav.write_bytes(wav_bytes(clip))
    mulaw = encode(wav, tmp_path / "out.ul", "-ar", "8000", "-f", "mulaw")
    decoded = await FfmpegSoundfileDecoder().decode(mulaw, content_type="audio/pcmu;rate=8000")
    assert decoded.duration == pytest.approx(2.0, abs=0.01)
    assert decoded.rms() == pytest.approx(clip.rms(), rel=0.2)
    little = np.round(clip.samples * 32767).astype("<i2").tobytes()
    pcm = await FfmpegSoundfileDecoder().decode(little, content_type="audio/pcm; rate=16000")
    assert np.max(np.abs(pcm.samples - clip.samples)) < 1e-3
    big = np.round(clip.samples * 32767).astype(">i2").tobytes()
    l16 = await FfmpegSoundfileDecoder().decode(big, content_type="audio/L16;rate=16000")
    assert np.max(np.abs(l16.samples - clip.samples)) < 1e-3


async def test_too_long_audio_is_refused_in_every_path(tmp_path: Path) -> None:
    decoder = FfmpegSoundfileDecoder(AudioDecoderLimits(max_seconds=2.0))
    long = synthetic_voice(seconds=3.0)
    wav = tmp_path / "long.wav"
    wav.write_bytes(wav_bytes(long))
    for data, content_type in [
        (wav.read_bytes(), None),
        (encode(wav, tmp_path / "long.mp3"), "audio/mpeg"),
        (np.zeros(16000 * 3, "<i2").tobytes(), "audio/pcm;rate=16000"),
    ]:
        with pytest.raises(AudioProcessingError) as caught:
            await decoder.decode(data, content_type=content_type)
        assert caught.value.reason == "too_long"


async def test_a_header_claiming_two_billion_samples_reads_only_what_is_there() -> None:
    data = bytearray(wav_bytes(synthetic_voice(seconds=0.5)))
    data[40:44] = (2**31 - 2).to_bytes(4, "little")  # the data chunk's size
    decoded = await FfmpegSoundfileDecoder().decode(bytes(data))
    assert decoded.duration == pytest.approx(0.5, abs=0.01)  # no 2**31-sample buffer, no crash


async def test_the_byte_cap_is_checked_before_decoding() -> None:
    decoder = FfmpegSoundfileDecoder(AudioDecoderLimits(max_bytes=1000))
    with pytest.raises(AudioProcessingError) as caught:
        await decoder.decode(wav_bytes(synthetic_voice(seconds=1.0)))
    assert caught.value.reason == "too_large"


async def test_html_is_not_audio_and_the_message_leaks_nothing() -> None:
    with pytest.raises(AudioProcessingError) as caught:
        await FfmpegSoundfileDecoder().decode(b"<html><body>Not found</body></html>" * 10)
    assert caught.value.reason == "undecodable"
    assert "ffmpeg" not in caught.value.message.lower()


async def test_no_temporary_file_is_left_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    clip = synthetic_voice(seconds=1.0)
    wav = tmp_path / "in.wav"
    wav.write_bytes(wav_bytes(clip))
    m4a = encode(wav, tmp_path / "out.m4a", "-c:a", "aac")
    before = set(tmp_path.iterdir())
    await FfmpegSoundfileDecoder().decode(m4a, content_type="audio/mp4")
    assert set(tmp_path.iterdir()) == before


async def test_a_file_source_reads_and_chunks(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(np.zeros(8000 * 2, "<i2").tobytes())
    source = FileAudioSource(path, FfmpegSoundfileDecoder())
    assert (await source.fetch()).duration == pytest.approx(2.0)
    assert [c.duration for c in [c async for c in source.stream()]] == [1.0, 1.0]
    with pytest.raises(AudioProcessingError):
        await FileAudioSource(tmp_path / "missing.wav", FfmpegSoundfileDecoder()).fetch()
