"""The real ``AudioDecoder``: soundfile first, ffmpeg for the rest, raw PCM and mu-law by type.

Whatever the path, the samples end the same way: downmixed by the mean of the channels and
resampled to 16 kHz by ``scipy.signal.resample_poly`` (a polyphase filter with a Kaiser window,
so nothing above 8 kHz folds back into the band the model hears).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from math import gcd

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.audio.ffmpeg import (
    FfmpegFailedError,
    FfmpegTimeoutError,
    ffmpeg_to_wav,
)
from voiceauth_adapters.audio.media_type import MediaType
from voiceauth_adapters.audio.raw import decode_raw
from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.errors import AudioProcessingError

__all__ = ["AudioDecoderLimits", "FfmpegSoundfileDecoder", "to_canonical"]

Frames = npt.NDArray[np.float32]  # [frames, channels]


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioDecoderLimits:
    """What a decoder accepts.

    Args:
        max_bytes: Largest encoded input (``MAX_UPLOAD_BYTES``).
        max_seconds: Longest decoded audio (``MAX_AUDIO_DURATION``).
        ffmpeg_timeout_s: Longest one ffmpeg run may take.
    """

    max_bytes: int = 20 * 1024 * 1024
    max_seconds: float = 30.0
    ffmpeg_timeout_s: float = 20.0


def to_canonical(frames: Frames, rate: int) -> Audio:
    """Downmix ``[frames, channels]`` samples and resample them to 16 kHz, clipped to [-1, 1]."""
    mono = frames.mean(axis=1, dtype=np.float64) if frames.shape[1] > 1 else frames[:, 0]
    if rate != CANONICAL_RATE and len(mono):
        common = gcd(rate, CANONICAL_RATE)
        mono = resample_poly(mono, CANONICAL_RATE // common, rate // common)
    return Audio(samples=np.clip(mono, -1.0, 1.0).astype(np.float32), sample_rate=CANONICAL_RATE)


def resample_poly(samples: npt.NDArray[np.floating], up: int, down: int) -> npt.NDArray[np.float64]:
    """``scipy.signal.resample_poly`` in float64 (scipy is imported on first use)."""
    from scipy.signal import resample_poly as polyphase  # noqa: PLC0415 - heavy import

    return np.asarray(polyphase(samples.astype(np.float64), up, down), dtype=np.float64)


class FfmpegSoundfileDecoder:
    """Decodes WAV, FLAC, OGG/Vorbis/Opus, MP3, M4A/AAC, WebM and raw PCM / G.711 mu-law.

    soundfile (libsndfile) reads what it can in-process; ffmpeg (a subprocess) the rest. Raw
    audio needs its content type: ``audio/pcm;rate=16000`` (16-bit little-endian),
    ``audio/L16;rate=8000`` (big-endian), ``audio/PCMU`` or ``audio/basic`` (mu-law, 8 kHz unless
    ``rate`` says otherwise); ``channels=N`` for interleaved channels.

    Args:
        limits: Size, duration and time limits (defaults: 20 MiB, 30 s, 20 s).
    """

    def __init__(self, limits: AudioDecoderLimits | None = None) -> None:
        self._limits = limits or AudioDecoderLimits()

    @property
    def limits(self) -> AudioDecoderLimits:
        """The limits this decoder enforces."""
        return self._limits

    async def decode(self, data: bytes, *, content_type: str | None = None) -> Audio:
        """Decode off the event loop, downmix and resample to 16 kHz.

        Raises:
            AudioProcessingError: With ``reason`` ``empty``, ``too_large``, ``too_long`` or
                ``undecodable``.
        """
        self._check_size(data)
        return await asyncio.to_thread(self.decode_sync, data, content_type)

    def decode_sync(self, data: bytes, content_type: str | None = None) -> Audio:
        """The same on the calling thread (the command line, the evaluation, the worker pool)."""
        self._check_size(data)
        media = MediaType.parse(content_type)
        if media.raw is not None:
            rate, channels = media.raw_layout()
            frames = decode_raw(data, media.raw, channels)
            self._check_duration(len(frames) / rate)
        else:
            decoded = None if media.ffmpeg_only else self._soundfile(data)
            frames, rate = decoded or self._ffmpeg(data, media)
        if len(frames) == 0:
            raise AudioProcessingError("the file holds no audio samples", reason="empty")
        return to_canonical(frames, rate)

    def _check_size(self, data: bytes) -> None:
        if not data:
            raise AudioProcessingError("the audio file is empty", reason="empty")
        if len(data) > self._limits.max_bytes:
            raise AudioProcessingError(
                f"the audio file is {len(data)} bytes; at most {self._limits.max_bytes} "
                "are accepted",
                reason="too_large",
            )

    def _check_duration(self, seconds: float) -> None:
        if seconds > self._limits.max_seconds:
            raise AudioProcessingError(
                f"the audio lasts {seconds:.1f} s; at most {self._limits.max_seconds:g} s "
                "is accepted",
                reason="too_long",
            )

    def _soundfile(self, data: bytes) -> tuple[Frames, int] | None:
        """Decode in-process, or None to hand the bytes to ffmpeg."""
        import soundfile as sf  # noqa: PLC0415 - the audio extra

        try:
            with sf.SoundFile(io.BytesIO(data)) as reader:
                rate = int(reader.samplerate)
                if reader.frames > 0:  # the header's count; a lying header is read to its end
                    self._check_duration(reader.frames / rate)
                # One frame past the limit is enough to know the audio is too long.
                limit = int(self._limits.max_seconds * rate) + 1
                frames = reader.read(frames=limit, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError):
            return None
        if len(frames) == 0:
            return None  # libsndfile accepted a header with nothing after it: ask ffmpeg
        self._check_duration(len(frames) / rate)
        return frames, rate

    def _ffmpeg(self, data: bytes, media: MediaType) -> tuple[Frames, int]:
        """Decode with ffmpeg, the declared container first, then whatever ffmpeg recognises."""
        attempts = [media.ffmpeg_format, None] if media.ffmpeg_format else [None]
        for input_format in attempts:
            try:
                wav = ffmpeg_to_wav(
                    data,
                    input_format=input_format,
                    # A little more than the limit, so audio over it is recognised as such.
                    max_seconds=self._limits.max_seconds + 0.5,
                    timeout_s=self._limits.ffmpeg_timeout_s,
                )
            except FfmpegTimeoutError as exc:
                raise AudioProcessingError(
                    "decoding the audio took too long", reason="undecodable"
                ) from exc
            except FfmpegFailedError:
                continue
            return self._read_ffmpeg_wav(wav)
        raise AudioProcessingError(
            "the file is not audio in a supported format (WAV, FLAC, OGG/Opus, MP3, M4A/AAC, "
            "WebM, or raw PCM / mu-law with its rate in the content type)",
            reason="undecodable",
        )

    def _read_ffmpeg_wav(self, wav: bytes) -> tuple[Frames, int]:
        import soundfile as sf  # noqa: PLC0415 - the audio extra

        try:
            frames, rate = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioProcessingError(
                "the audio could not be decoded", reason="undecodable"
            ) from exc
        self._check_duration(len(frames) / int(rate))
        return frames, int(rate)
