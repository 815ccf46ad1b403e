"""The real decoder: every common format made by ffmpeg from one real WAV, raw audio, limits."""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.contract.audio_decoder_contract import AudioDecoderContract
from tests.integration.real_model import speech
from voiceauth_adapters.audio import (
    AudioDecoderLimits,
    FfmpegSoundfileDecoder,
    FileAudioSource,
    ffmpeg_executable,
    mulaw_decode,
)
from voiceauth_core import Audio, AudioProcessingError
from voiceauth_core.testing import synthetic_voice, wav_bytes

pytestmark = pytest.mark.integration


class TestFfmpegSoundfileDecoder(AudioDecoderContract):
    @pytest.fixture
    def decoder(self) -> FfmpegSoundfileDecoder:
        return FfmpegSoundfileDecoder()


def ffmpeg(*args: str) -> None:
    command = [ffmpeg_executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run([*command, *args], check=True, timeout=60)


def encode(wav: Path, out: Path, *args: str) -> bytes:
    ffmpeg("-i", str(wav), *args, str(out))
    return out.read_bytes()


def best_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 1600) -> float:
    """The highest normalised correlation of two signals at lags up to 0.1 s (codec delay)."""
    from scipy.signal import correlate

    n = min(len(a), len(b))
    x, y = a[:n].astype(np.float64), b[:n].astype(np.float64)
    full = correlate(y, x, mode="full", method="fft")[n - 1 - max_lag : n + max_lag]
    return float(np.max(full) / (np.linalg.norm(x) * np.linalg.norm(y)))


@pytest.fixture(scope="module")
def voice() -> Audio:
    return speech("103_a").slice(0, 4.0)


@pytest.fixture
def wav48_stereo(tmp_path: Path, voice: Audio) -> Path:
    """The voice as a 48 kHz stereo WAV (both channels the voice): every format starts here."""
    mono = tmp_path / "voice.wav"
    mono.write_bytes(wav_bytes(voice))
    stereo = tmp_path / "voice48.wav"
    both = ("-af", "pan=stereo|c0=c0|c1=c0", "-ar", "48000", "-c:a", "pcm_s16le")
    ffmpeg("-i", str(mono), *both, str(stereo))
    return stereo


FORMATS = [
    ("wav", "audio/wav", ("-c:a", "pcm_s16le")),
    ("flac", "audio/flac", ()),
    ("ogg", "audio/ogg", ("-c:a", "libvorbis")),
    ("opus", "audio/ogg", ("-c:a", "libopus", "-b:a", "48k")),
    ("mp3", "audio/mpeg", ("-b:a", "128k")),
    ("m4a", "audio/mp4", ("-c:a", "aac", "-b:a", "128k")),
    ("webm", "audio/webm", ("-c:a", "libopus", "-b:a", "48k")),
    ("aac", "audio/aac", ("-c:a", "aac", "-b:a", "128k")),
]


@pytest.mark.parametrize(("suffix", "content_type", "args"), FORMATS, ids=[f[0] for f in FORMATS])
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "probed"])
async def test_every_common_format_decodes_to_the_same_voice(
    tmp_path: Path,
    wav48_stereo: Path,
    voice: Audio,
    suffix: str,
    content_type: str,
    args: tuple[str, ...],
    declared: bool,
) -> None:
    data = encode(wav48_stereo, tmp_path / f"out.{suffix}", *args)
    decoded = await FfmpegSoundfileDecoder().decode(
        data, content_type=content_type if declared else None
    )
    assert decoded.sample_rate == 16000
    assert decoded.duration == pytest.approx(4.0, abs=0.1)
    assert decoded.rms() == pytest.approx(voice.rms(), rel=0.2)
    assert best_correlation(voice.samples, decoded.samples) > 0.9


async def test_lossless_formats_are_exact_after_resampling(tmp_path: Path, voice: Audio) -> None:
    wav = tmp_path / "voice.wav"
    wav.write_bytes(wav_bytes(voice))
    for suffix in ("wav", "flac"):
        decoded = await FfmpegSoundfileDecoder().decode(encode(wav, tmp_path / f"x.{suffix}"))
        assert np.max(np.abs(decoded.samples - voice.samples)) < 1e-4


async def test_a_long_m4a_with_its_index_at_the_end_decodes_without_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 25 s of 48 kHz stereo at 256 kb/s: too big for ffmpeg to find the index through a pipe.
    out = tmp_path / "long.m4a"
    tone = ("-f", "lavfi", "-i", "sine=f=440:d=25", "-ar", "48000", "-ac", "2", "-b:a", "256k")
    ffmpeg(*tone, str(out))
    data = out.read_bytes()
    assert data.find(b"moov") > data.find(b"mdat")  # the index is at the end
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    before = set(tmp_path.iterdir())
    decoded = await FfmpegSoundfileDecoder().decode(data, content_type="audio/mp4")
    assert decoded.duration == pytest.approx(25.0, abs=0.1)
    assert set(tmp_path.iterdir()) == before


async def test_stereo_is_downmixed_in_the_ffmpeg_path_too(tmp_path: Path, voice: Audio) -> None:
    left = tmp_path / "left.wav"
    left.write_bytes(wav_bytes(voice))
    out = tmp_path / "stereo.m4a"
    ffmpeg(
        "-i", str(left), "-af", "pan=stereo|c0=c0|c1=0*c0", "-c:a", "aac", "-b:a", "160k", str(out)
    )
    decoded = await FfmpegSoundfileDecoder().decode(out.read_bytes(), content_type="audio/mp4")
    assert decoded.rms() == pytest.approx(voice.rms() / 2, rel=0.2)


@pytest.mark.parametrize("suffix", ["wav", "m4a"])
async def test_resampling_filters_out_what_would_alias(tmp_path: Path, suffix: str) -> None:
    # A 12 kHz tone at 44.1 kHz has no place at 16 kHz (Nyquist 8 kHz): it must vanish, not
    # fold back to 4 kHz as naive decimation would make it.
    out = tmp_path / f"tone.{suffix}"
    ffmpeg("-f", "lavfi", "-i", "sine=f=12000:d=2:sample_rate=44100", "-b:a", "192k", str(out))
    decoded = await FfmpegSoundfileDecoder().decode(out.read_bytes())
    assert decoded.duration == pytest.approx(2.0, abs=0.05)
    assert decoded.rms() < 1e-3


async def test_mulaw_matches_ffmpegs_own_decoding(tmp_path: Path, voice: Audio) -> None:
    wav = tmp_path / "voice.wav"
    wav.write_bytes(wav_bytes(voice))
    mulaw = encode(wav, tmp_path / "voice.ul", "-ar", "8000", "-f", "mulaw")
    back = ("-f", "mulaw", "-ar", "8000", "-i", str(tmp_path / "voice.ul"), "-f", "s16le")
    ffmpeg(*back, str(tmp_path / "ref.raw"))
    expected = np.frombuffer((tmp_path / "ref.raw").read_bytes(), "<i2") / 32768.0
    assert np.array_equal(mulaw_decode(mulaw).astype(np.float64), expected)
    for content_type in ("audio/PCMU", "audio/basic", "audio/x-mulaw;rate=8000"):
        decoded = await FfmpegSoundfileDecoder().decode(mulaw, content_type=content_type)
        assert decoded.duration == pytest.approx(4.0, abs=0.01)
        assert best_correlation(voice.samples, decoded.samples) > 0.9


async def test_raw_pcm_with_a_declared_rate_and_channels(voice: Audio) -> None:
    pcm = np.round(voice.samples * 32767).astype("<i2")
    decoder = FfmpegSoundfileDecoder()
    little = await decoder.decode(pcm.tobytes(), content_type="audio/pcm; rate=16000")
    assert np.max(np.abs(little.samples - voice.samples)) < 1e-3
    big = await decoder.decode(pcm.astype(">i2").tobytes(), content_type="audio/L16;rate=16000")
    assert np.max(np.abs(big.samples - voice.samples)) < 1e-3
    stereo = np.stack([pcm, np.zeros_like(pcm)], axis=1).tobytes()
    mixed = await decoder.decode(stereo, content_type="audio/pcm;rate=16000;channels=2")
    assert mixed.duration == pytest.approx(voice.duration)
    assert mixed.rms() == pytest.approx(voice.rms() / 2, rel=0.01)
    slow = await decoder.decode(pcm.tobytes(), content_type="audio/pcm;rate=8000")
    assert slow.duration == pytest.approx(2 * voice.duration)


@pytest.mark.parametrize(
    "content_type", ["audio/pcm", "audio/L16", "audio/pcm;rate=abc", "audio/pcm;rate=1000000"]
)
async def test_raw_pcm_without_a_usable_rate_is_refused(content_type: str) -> None:
    with pytest.raises(AudioProcessingError) as caught:
        await FfmpegSoundfileDecoder().decode(b"\0\1" * 1000, content_type=content_type)
    assert caught.value.reason == "undecodable"


async def test_too_long_audio_is_refused_in_every_path(tmp_path: Path) -> None:
    decoder = FfmpegSoundfileDecoder(AudioDecoderLimits(max_seconds=2.0))
    wav = tmp_path / "long.wav"
    wav.write_bytes(wav_bytes(synthetic_voice(seconds=3.0)))
    cases = {
        "soundfile": (wav.read_bytes(), None),
        "soundfile mp3": (encode(wav, tmp_path / "long.mp3"), "audio/mpeg"),
        "ffmpeg": (encode(wav, tmp_path / "long.m4a", "-c:a", "aac"), "audio/mp4"),
        "ffmpeg webm": (encode(wav, tmp_path / "long.webm", "-c:a", "libopus"), None),
        "raw": (np.zeros(16000 * 3, "<i2").tobytes(), "audio/pcm;rate=16000"),
        "mu-law": (bytes(8000 * 3), "audio/basic"),
    }
    for name, (data, content_type) in cases.items():
        with pytest.raises(AudioProcessingError) as caught:
            await decoder.decode(data, content_type=content_type)
        assert caught.value.reason == "too_long", name
        assert "2 s" in caught.value.message


async def test_audio_just_under_the_limit_is_accepted(tmp_path: Path) -> None:
    decoder = FfmpegSoundfileDecoder(AudioDecoderLimits(max_seconds=2.0))
    wav = tmp_path / "short.wav"
    wav.write_bytes(wav_bytes(synthetic_voice(seconds=1.9)))
    for data in (wav.read_bytes(), encode(wav, tmp_path / "short.m4a", "-c:a", "aac")):
        assert (await decoder.decode(data)).duration == pytest.approx(1.9, abs=0.05)


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
    with pytest.raises(AudioProcessingError):
        decoder.decode_sync(wav_bytes(synthetic_voice(seconds=1.0)))


async def test_empty_input_and_a_header_without_samples_are_empty() -> None:
    with pytest.raises(AudioProcessingError) as caught:
        await FfmpegSoundfileDecoder().decode(b"")
    assert caught.value.reason == "empty"
    with pytest.raises(AudioProcessingError) as caught:
        await FfmpegSoundfileDecoder().decode(wav_bytes(Audio.silence(0.0)))
    assert caught.value.reason in ("empty", "undecodable")


async def test_a_slow_ffmpeg_is_killed_at_the_timeout(tmp_path: Path) -> None:
    wav = tmp_path / "voice.wav"
    wav.write_bytes(wav_bytes(synthetic_voice(seconds=2.0)))
    m4a = encode(wav, tmp_path / "voice.m4a", "-c:a", "aac")
    decoder = FfmpegSoundfileDecoder(AudioDecoderLimits(ffmpeg_timeout_s=0.001))
    with pytest.raises(AudioProcessingError, match="too long") as caught:
        await decoder.decode(m4a, content_type="audio/mp4")
    assert caught.value.reason == "undecodable"


async def test_html_is_not_audio_and_the_message_leaks_nothing() -> None:
    with pytest.raises(AudioProcessingError) as caught:
        await FfmpegSoundfileDecoder().decode(b"<html><body>Not found</body></html>" * 10)
    assert caught.value.reason == "undecodable"
    assert "ffmpeg" not in caught.value.message.lower()


@pytest.mark.parametrize(
    "playlist",
    [
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:4.0,\nfile://{path}\n#EXT-X-ENDLIST\n",
        "ffconcat version 1.0\nfile '{path}'\n",
    ],
    ids=["hls", "concat"],
)
async def test_a_playlist_cannot_make_ffmpeg_read_a_local_file(
    tmp_path: Path, voice: Audio, playlist: str
) -> None:
    secret = tmp_path / "secret.wav"
    secret.write_bytes(wav_bytes(voice))
    data = playlist.format(path=secret).encode()
    for content_type in (None, "application/vnd.apple.mpegurl", "audio/mpeg"):
        with pytest.raises(AudioProcessingError) as caught:
            await FfmpegSoundfileDecoder().decode(data, content_type=content_type)
        assert caught.value.reason == "undecodable"


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


MAGICS = [b"", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"fLaC", b"OggS\x00\x02", b"ID3\x04", b"\xff\xfb"]


@settings(max_examples=25, deadline=None)
@given(
    prefix=st.sampled_from(MAGICS),
    body=st.binary(min_size=1, max_size=3000),
    content_type=st.sampled_from([None, "audio/mpeg", "audio/mp4", "audio/webm", "audio/wav"]),
)
def test_garbage_behind_any_header_is_refused_or_decoded_never_crashes(
    prefix: bytes, body: bytes, content_type: str | None
) -> None:
    decoder = FfmpegSoundfileDecoder(AudioDecoderLimits(ffmpeg_timeout_s=10.0))
    outcome: Audio | AudioProcessingError
    try:
        outcome = decoder.decode_sync(prefix + body, content_type)
    except AudioProcessingError as exc:  # any other exception fails the test
        outcome = exc
    if isinstance(outcome, AudioProcessingError):
        assert outcome.reason in ("empty", "undecodable", "too_long")
        return
    audio = outcome
    assert audio.sample_rate == 16000
    assert audio.duration <= 30.0
    assert np.all(np.abs(audio.samples) <= 1.0)
