"""The telephone channel, simulated: 16 kHz -> 8 kHz -> G.711 mu-law -> back to 16 kHz.

``phone_channel`` is used by ``voiceauth eval`` to hear a side of a trial over a phone line, and
by :class:`G711Line`, the ``TelephoneChannel`` port that ``Enroll`` uses to keep a phone-band
voiceprint beside the recorded one.
"""

from __future__ import annotations

import asyncio

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.errors import AudioProcessingError

__all__ = ["G711Line", "mulaw_decode", "mulaw_encode", "phone_channel"]

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
    if audio.sample_rate != CANONICAL_RATE:
        raise AudioProcessingError("the phone channel takes 16 kHz audio", reason="bad_rate")
    narrow = resample_poly(audio.samples.astype(np.float64), 1, 2)
    pcm = np.clip(np.round(narrow * 32768.0), -32768, 32767).astype(np.int16)
    heard = mulaw_decode(mulaw_encode(pcm)).astype(np.float64) / 32768.0
    wide = resample_poly(heard, 2, 1)
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
