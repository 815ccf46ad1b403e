"""Decoding of uploaded and downloaded audio: soundfile first, ffmpeg for the rest.

Everything ends as mono float32 at 16 kHz, resampled with a polyphase anti-aliasing filter.
Raw PCM and G.711 mu-law need their rate declared in the content type
(``audio/pcmu;rate=8000``, ``audio/l16;rate=16000``).
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import tempfile
from math import gcd
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf
from scipy.signal import resample_poly

from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.errors import AudioProcessingError

__all__ = ["AudioDecoderLimits", "FfmpegSoundfileDecoder", "ffmpeg_executable", "mulaw_decode"]

# Container formats ffmpeg is told to expect, by content type; the rest it probes.
_FFMPEG_FORMATS = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/aac": "aac",
}
# MP4/M4A keep their index at the end: ffmpeg must be able to seek, so they go through a file.
_SEEKABLE_ONLY = {"audio/mp4", "audio/m4a", "audio/x-m4a", "video/mp4"}
_MP4_MAGIC = b"ftyp"


def ffmpeg_executable() -> str:
    """The ffmpeg binary: ``VOICEAUTH_FFMPEG``, else the one the imageio-ffmpeg wheel ships."""
    configured = os.environ.get("VOICEAUTH_FFMPEG")
    if configured:
        return configured
    import imageio_ffmpeg  # noqa: PLC0415 - only when ffmpeg is needed

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def mulaw_decode(data: bytes) -> npt.NDArray[np.float32]:
    """G.711 mu-law bytes to samples in [-1, 1]."""
    codes = ~np.frombuffer(data, dtype=np.uint8)
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = ((mantissa.astype(np.int32) << 3) + 0x84) << exponent
    linear = np.where(sign != 0, 0x84 - magnitude, magnitude - 0x84)
    return (linear / 32768.0).astype(np.float32)


class AudioDecoderLimits:
    """Limits a decoder enforces.

    Args:
        max_bytes: Largest encoded input accepted.
        max_seconds: Longest decoded audio accepted (``MAX_AUDIO_DURATION``).
        ffmpeg_timeout_s: Longest an ffmpeg run may take.
    """

    def __init__(
        self,
        *,
        max_bytes: int = 20 * 1024 * 1024,
        max_seconds: float = 30.0,
        ffmpeg_timeout_s: float = 30.0,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.ffmpeg_timeout_s = ffmpeg_timeout_s


def _parse_content_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    if not content_type:
        return "", {}
    kind, *params = (part.strip() for part in content_type.split(";"))
    options = {}
    for param in params:
        key, _, value = param.partition("=")
        options[key.strip().lower()] = value.strip().strip('"')
    return kind.lower(), options


def _to_canonical(samples: npt.NDArray[np.float32], rate: int) -> Audio:
    if rate != CANONICAL_RATE and len(samples):
        divisor = gcd(rate, CANONICAL_RATE)
        samples = resample_poly(samples, CANONICAL_RATE // divisor, rate // divisor)
    return Audio(samples=np.clip(samples, -1.0, 1.0).astype(np.float32), sample_rate=CANONICAL_RATE)


class FfmpegSoundfileDecoder:
    """The real ``AudioDecoder``: WAV, FLAC, OGG/Opus, MP3, M4A/AAC, WebM, raw PCM and mu-law."""

    def __init__(self, limits: AudioDecoderLimits | None = None) -> None:
        self._limits = limits or AudioDecoderLimits()

    async def decode(self, data: bytes, *, content_type: str | None = None) -> Audio:
        """Decode off the event loop, downmix and resample to 16 kHz.

        Raises:
            AudioProcessingError: ``empty``, ``too_large``, ``too_long`` or ``undecodable``.
        """
        if not data:
            raise AudioProcessingError("the audio file is empty", reason="empty")
        if len(data) > self._limits.max_bytes:
            raise AudioProcessingError(
                f"the audio file is larger than {self._limits.max_bytes // (1024 * 1024)} MB",
                reason="too_large",
            )
        return await asyncio.to_thread(self.decode_sync, data, content_type)

    def decode_sync(self, data: bytes, content_type: str | None = None) -> Audio:
        """The same, on the calling thread (for the command line and the evaluation)."""
        kind, options = _parse_content_type(content_type)
        if kind in ("audio/pcmu", "audio/basic", "audio/x-mulaw", "audio/l16", "audio/pcm"):
            audio = self._raw(data, kind, options)
        else:
            audio = self._soundfile(data) or self._ffmpeg(data, kind)
        if audio.duration > self._limits.max_seconds:
            raise AudioProcessingError(
                f"the audio lasts more than {self._limits.max_seconds:g} s", reason="too_long"
            )
        if len(audio.samples) == 0:
            raise AudioProcessingError("the audio file holds no samples", reason="empty")
        return audio

    def _raw(self, data: bytes, kind: str, options: dict[str, str]) -> Audio:
        try:
            rate = int(options.get("rate", "8000"))
            channels = int(options.get("channels", "1"))
        except ValueError:
            raise AudioProcessingError("bad rate or channels", reason="undecodable") from None
        if not 4000 <= rate <= 192_000 or not 1 <= channels <= 8:
            raise AudioProcessingError("unsupported rate or channels", reason="undecodable")
        if kind in ("audio/pcmu", "audio/basic", "audio/x-mulaw"):
            samples = mulaw_decode(data)
        else:  # L16 is big-endian (RFC 3551); plain PCM is little-endian
            dtype = ">i2" if kind == "audio/l16" else "<i2"
            usable = len(data) - len(data) % 2
            samples = np.frombuffer(data[:usable], dtype=dtype).astype(np.float32) / 32768.0
        frames = len(samples) // channels
        if frames / rate > self._limits.max_seconds:
            raise AudioProcessingError(
                f"the audio lasts more than {self._limits.max_seconds:g} s", reason="too_long"
            )
        mono = samples[: frames * channels].reshape(frames, channels).mean(axis=1)
        return _to_canonical(mono.astype(np.float32), rate)

    def _soundfile(self, data: bytes) -> Audio | None:
        try:
            info = sf.info(io.BytesIO(data))
            if info.frames / info.samplerate > self._limits.max_seconds:
                raise AudioProcessingError(
                    f"the audio lasts more than {self._limits.max_seconds:g} s", reason="too_long"
                )
            samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
            return None
        if samples.shape[0] == 0:
            return None
        return _to_canonical(samples.mean(axis=1), int(rate))

    def _ffmpeg(self, data: bytes, kind: str) -> Audio:
        seekable = kind in _SEEKABLE_ONLY or data[4:8] == _MP4_MAGIC
        limit = f"{self._limits.max_seconds + 1:g}"
        command = [ffmpeg_executable(), "-nostdin", "-hide_banner", "-loglevel", "error"]
        if kind in _FFMPEG_FORMATS and not seekable:
            command += ["-f", _FFMPEG_FORMATS[kind]]
        output = [
            "-t",
            limit,
            "-vn",
            "-ac",
            "1",
            "-ar",
            str(CANONICAL_RATE),
            "-f",
            "f32le",
            "pipe:1",
        ]
        try:
            if seekable:
                with tempfile.TemporaryDirectory(prefix="voiceauth-decode-") as folder:
                    path = Path(folder) / "input"
                    path.write_bytes(data)
                    result = self._run([*command, "-i", str(path), *output], None)
            else:
                result = self._run([*command, "-i", "pipe:0", *output], data)
        except subprocess.TimeoutExpired:
            raise AudioProcessingError(
                "decoding the audio took too long", reason="undecodable"
            ) from None
        if result.returncode != 0 or not result.stdout:
            # ffmpeg's own message stays out of the error: it can reveal internals.
            raise AudioProcessingError(
                "the file is not audio in a supported format", reason="undecodable"
            )
        samples = np.frombuffer(result.stdout[: len(result.stdout) // 4 * 4], dtype="<f4")
        return Audio(samples=np.clip(samples, -1.0, 1.0), sample_rate=CANONICAL_RATE)

    def _run(self, command: list[str], stdin: bytes | None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(  # noqa: S603 - fixed arguments, our ffmpeg
            command,
            input=stdin,
            capture_output=True,
            timeout=self._limits.ffmpeg_timeout_s,
            check=False,
        )
