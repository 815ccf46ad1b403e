"""Headerless audio: G.711 mu-law and 16-bit PCM, interleaved channels."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.audio.media_type import RawEncoding

__all__ = ["decode_raw", "mulaw_decode"]

_BIAS = 0x84


def mulaw_decode(data: bytes) -> npt.NDArray[np.float32]:
    """G.711 mu-law bytes to samples in [-1, 1] (the standard's segment expansion)."""
    codes = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    exponent = (codes >> 4) & 0x07
    magnitude = ((((codes & 0x0F) << 3) + _BIAS) << exponent) - _BIAS
    linear = np.where(codes & 0x80, -magnitude, magnitude)
    return (linear / 32768.0).astype(np.float32)


def decode_raw(data: bytes, encoding: RawEncoding, channels: int) -> npt.NDArray[np.float32]:
    """Samples as ``[frames, channels]``; a trailing partial frame is dropped."""
    if encoding is RawEncoding.MULAW:
        samples = mulaw_decode(data)
    else:
        dtype = "<i2" if encoding is RawEncoding.PCM16LE else ">i2"
        usable = len(data) - len(data) % 2
        samples = (np.frombuffer(data[:usable], dtype=dtype) / 32768.0).astype(np.float32)
    frames = len(samples) // channels
    return samples[: frames * channels].reshape(frames, channels)
