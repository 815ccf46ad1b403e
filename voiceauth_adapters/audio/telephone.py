"""The telephone channel, simulated: 16 kHz -> 8 kHz -> G.711 mu-law -> back to 16 kHz.

``phone_channel`` is used by ``voiceauth eval`` to hear a side of a trial over a phone line, and
by :class:`G711Line`, the ``TelephoneChannel`` port that ``Enroll`` uses to keep a phone-band
voiceprint beside the recorded one. ``mobile_channel`` is a line the shipped cohort and
calibration never heard (AMR-NB, then G.711), for measuring how far they carry.
"""

from __future__ import annotations

import asyncio
import subprocess

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from voiceauth_adapters.audio.ffmpeg import ffmpeg_executable
from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.errors import AudioProcessingError

__all__ = ["G711Line", "mobile_channel", "mulaw_decode", "mulaw_encode", "phone_channel"]

_BIAS = 0x84
_CLIP_14 = 8159


def mulaw_encode(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    """G.711 mu-law bytes of 16-bit PCM (the segmented table of ITU-T G.711, as ``audioop``)."""
    value = pcm.astype(np.int32) >> 2  # G.711 works on 14-bit samples
    sign = np.where(value < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(value), _CLIP_14) + (_BIAS >> 2)
    magnitude = np.minimum(magnitude, 0x1FFF)  # the top segment saturates
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 5, 0, 7)
    mantissa = (magnitude >> (exponent + 1)) & 0x0F
    codes: npt.NDArray[np.uint8] = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)
    return codes


def mulaw_decode(codes: npt.NDArray[np.uint8]) -> npt.NDArray[np.int16]:
    """16-bit PCM of G.711 mu-law bytes."""
    value = ~codes.astype(np.int32) & 0xFF
    sign = value & 0x80
    exponent = (value >> 4) & 0x07
    mantissa = value & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def phone_channel(audio: Audio) -> Audio:
    """``audio`` as heard through a narrow-band G.711 (mu-law) telephone line.

    Band-limits and decimates to 8 kHz, quantises through mu-law, and interpolates back to the
    canonical 16 kHz, as a call bridged into the service would sound.

    Raises:
        AudioProcessingError: The audio is not at the canonical rate.
    """
    _check_rate(audio)
    narrow = resample_poly(audio.samples.astype(np.float64), 1, 2)
    pcm = np.clip(np.round(narrow * 32768.0), -32768, 32767).astype(np.int16)
    heard = mulaw_decode(mulaw_encode(pcm)).astype(np.float64) / 32768.0
    wide = resample_poly(heard, 2, 1)
    return Audio(samples=np.clip(wide, -1.0, 1.0).astype(np.float32), sample_rate=CANONICAL_RATE)


def _check_rate(audio: Audio) -> None:
    if audio.sample_rate != CANONICAL_RATE:
        raise AudioProcessingError("the phone channel takes 16 kHz audio", reason="bad_rate")


def _ffmpeg(arguments: list[str], data: bytes, executable: str | None, timeout_s: float) -> bytes:
    command = [executable or ffmpeg_executable(), "-hide_banner", "-loglevel", "error", *arguments]
    try:
        done = subprocess.run(  # noqa: S603 - a fixed argument list, data on stdin
            command, input=data, capture_output=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise AudioProcessingError("the AMR codec timed out", reason="codec_failed") from exc
    if done.returncode != 0:
        raise AudioProcessingError("the AMR codec failed", reason="codec_failed")
    return done.stdout


def mobile_channel(
    audio: Audio, *, bitrate: str = "12.2k", executable: str | None = None, timeout_s: float = 60.0
) -> Audio:
    """``audio`` as heard over a mobile leg bridged into a fixed line: 8 kHz, AMR-NB at
    ``bitrate`` (ffmpeg's libopencore-amrnb; 12.2k is GSM-EFR's mode), then G.711 mu-law at the
    gateway, back to 16 kHz.

    Raises:
        AudioProcessingError: The audio is not at the canonical rate, or the codec failed.
    """
    _check_rate(audio)
    narrow = resample_poly(audio.samples.astype(np.float64), 1, 2)
    pcm = np.clip(np.round(narrow * 32768.0), -32768, 32767).astype("<i2")
    raw = ["-f", "s16le", "-ar", "8000", "-ac", "1"]
    amr = _ffmpeg(
        [*raw, "-i", "pipe:0", "-c:a", "libopencore_amrnb", "-b:a", bitrate, "-f", "amr", "pipe:1"],
        pcm.tobytes(),
        executable,
        timeout_s,
    )
    decoded = _ffmpeg(["-f", "amr", "-i", "pipe:0", *raw, "pipe:1"], amr, executable, timeout_s)
    heard = np.frombuffer(decoded, dtype="<i2")[: pcm.size]
    heard = np.pad(heard, (0, pcm.size - heard.size))
    gateway = mulaw_decode(mulaw_encode(heard)).astype(np.float64) / 32768.0
    wide = resample_poly(gateway, 2, 1)
    return Audio(samples=np.clip(wide, -1.0, 1.0).astype(np.float32), sample_rate=CANONICAL_RATE)


class G711Line:
    """The ``TelephoneChannel`` port: :func:`phone_channel` off the event loop.

    The same simulated line the shipped cohort and calibration were measured with (the cohort's
    phone-band half and the ``phone`` conditions of ``docs/accuracy.md``).
    """

    async def transmit(self, audio: Audio) -> Audio:
        """``audio`` as heard through a G.711 mu-law line, at the canonical rate.

        Raises:
            AudioProcessingError: The audio is not at the canonical rate.
        """
        return await asyncio.to_thread(phone_channel, audio)
