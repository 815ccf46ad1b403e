"""The listen socket's PCM framing: interleaved 16-bit little-endian samples, split anywhere.

A WebSocket message boundary means nothing to the audio: a message may end inside a sample or
inside a multi-channel frame. :class:`Deinterleaver` carries the remainder to the next message
and hands out only the customer's channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BYTES_PER_SAMPLE", "Deinterleaver", "PcmFormat", "looks_like_pcm16"]

BYTES_PER_SAMPLE = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class PcmFormat:
    """What the binary frames carry.

    Args:
        sample_rate: Samples per second per channel.
        channels: Interleaved channels (1 or 2).
        customer_channel: The caller's channel (VAPI: 0; the assistant is 1).
    """

    sample_rate: int = 16_000
    channels: int = 2
    customer_channel: int = 0

    def __post_init__(self) -> None:
        if not 1_000 <= self.sample_rate <= 192_000:
            raise ValueError(f"unsupported sample rate {self.sample_rate}")
        if not 1 <= self.channels <= 8:
            raise ValueError(f"unsupported channel count {self.channels}")
        if not 0 <= self.customer_channel < self.channels:
            raise ValueError("the customer channel must be one of the channels")

    @property
    def frame_bytes(self) -> int:
        """Bytes per multi-channel frame (one sample of every channel)."""
        return self.channels * BYTES_PER_SAMPLE


class Deinterleaver:
    """Turns a byte stream split at arbitrary points into the customer channel's samples.

    Args:
        pcm: The stream's format.
    """

    def __init__(self, pcm: PcmFormat) -> None:
        self._pcm = pcm
        self._carry = b""
        self.frames = 0

    @property
    def format(self) -> PcmFormat:
        """The stream's format."""
        return self._pcm

    @property
    def pending_bytes(self) -> int:
        """Bytes held back because they do not yet complete a frame."""
        return len(self._carry)

    def feed(self, data: bytes) -> npt.NDArray[np.int16]:
        """The customer's samples completed by ``data`` (possibly none)."""
        buffer = self._carry + data if self._carry else data
        usable = len(buffer) - len(buffer) % self._pcm.frame_bytes
        self._carry = bytes(buffer[usable:])
        if usable == 0:
            return np.zeros(0, np.int16)
        frames = np.frombuffer(buffer, dtype="<i2", count=usable // BYTES_PER_SAMPLE)
        customer = frames.reshape(-1, self._pcm.channels)[:, self._pcm.customer_channel]
        self.frames += len(customer)
        return customer.astype(np.int16)


def looks_like_pcm16(samples: npt.NDArray[np.float32]) -> bool:
    """Whether samples read as 16-bit PCM could be sound rather than misread bytes.

    Bytes that are not 16-bit little-endian PCM (random data, mu-law, big-endian, a compressed
    file) read as loud, spectrally flat noise: a high level and sample-to-sample jumps as large
    as the signal itself. Speech, silence and line noise are quieter or smoother. The check
    needs a quarter-second or more of audio to be meaningful.
    """
    if len(samples) < 2:
        return True
    wide = samples.astype(np.float64)
    level = float(np.sqrt(np.mean(wide**2)))
    if level < 0.2:  # below -14 dBFS: quiet enough to be sound of any kind
        return True
    jumps = float(np.sqrt(np.mean(np.diff(wide) ** 2)))
    return jumps / level < 1.2  # white noise: about 1.41; voiced speech: well below 1
