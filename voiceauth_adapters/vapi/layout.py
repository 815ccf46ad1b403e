"""The listen socket's channel layout, announced or recognised from the first audio.

VAPI documents a ``start`` frame for its custom-transcriber feed (customer on channel 0,
assistant on channel 1) but not for the listen socket, and clients disagree on what that socket
sends. When no ``start`` frame arrives, the first half-second or so of bytes is read as if it
were two interleaved channels and one of three layouts recognised:

- ``stereo``: two different signals, interleaved (the customer on the configured channel).
  Read as one stream, it jumps between the two signals at every sample.
- ``duplicated``: mono sent as "stereo", the same signal in both channels (near-identical).
- ``mono``: one channel. Read as two channels, the "channels" are the even and the odd samples
  of one signal, so most of one is predictable from the other; two voices are not.

Silence tells nothing (:func:`classify_layout` answers None); the listener then waits for more
audio, and after a second falls back to the configured format.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.vapi.framing import BYTES_PER_SAMPLE, PcmFormat

__all__ = [
    "ChannelLayout",
    "LayoutSource",
    "ListenLayout",
    "classify_layout",
    "layout_of",
]

#: Below this level (about -60 dBFS) the audio is taken as silence: no layout can be told.
_SILENCE_RMS = 1e-3
#: The two channels differ by less than this fraction of the louder one's level: duplicated.
#: (A copy re-encoded or dithered differs by well under -26 dB; two voices never do.)
_DUPLICATE_RATIO = 0.05
#: Mono read as two channels is its even and its odd samples: most of the "second channel"
#: is predictable from the first (a linear filter, frequency by frequency). Below this
#: unexplained fraction of its energy the stream is mono. Measured on half-second synthetic
#: voices of random pitch, formants and level (150 of each): two voices interleaved leave 0.85
#: or more unexplained; one voice at 16 or 24 kHz at most 0.012; at 8 kHz a median of 0.17, but
#: voices with strong formants near 3-4 kHz (aliased when split in two) leave more, and 10 of
#: 150 were read as stereo (VAPI's documented layout, the safer mistake).
_MONO_UNEXPLAINED = 0.5
#: A channel quieter than this fraction of the stream's level is silent: the stream is stereo
#: (mono's even and odd samples are never one silent and one not).
_ACTIVE_CHANNEL = 0.1
#: Fewer frames than this (0.1 s at 16 kHz) are not enough to decide.
_MIN_FRAMES = 1600
#: Spectral segments: 128 samples a channel, half overlapping, Hann windowed.
_SEGMENT = 128


class ChannelLayout(enum.StrEnum):
    """What the binary frames carry."""

    STEREO = "stereo"  # customer and assistant interleaved
    DUPLICATED = "duplicated"  # one signal copied into both channels
    MONO = "mono"  # one channel


class LayoutSource(enum.StrEnum):
    """How the layout was decided."""

    ANNOUNCED = "announced"  # a ``start`` frame said so
    DETECTED = "detected"  # recognised from the first audio
    CONFIGURED = "configured"  # nothing to go by (silence, too little audio): the settings


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenLayout:
    """The layout one call's audio was read with.

    Args:
        layout: What the frames carry.
        source: How that was decided.
        pcm: The format the stream is read with.
    """

    layout: ChannelLayout
    source: LayoutSource
    pcm: PcmFormat


def _rms(values: npt.NDArray[np.float64]) -> float:
    return float(np.sqrt(np.mean(values**2))) if len(values) else 0.0


def _spectra(values: npt.NDArray[np.float64]) -> npt.NDArray[np.complex128]:
    """Windowed spectra of half-overlapping segments (mean removed from each)."""
    segments = np.lib.stride_tricks.sliding_window_view(values, _SEGMENT)[:: _SEGMENT // 2]
    segments = segments - segments.mean(axis=1, keepdims=True)
    return np.fft.rfft(segments * np.hanning(_SEGMENT), axis=1)


def _unexplained(first: npt.NDArray[np.float64], second: npt.NDArray[np.float64]) -> float:
    """The fraction of ``second``'s energy no linear filter of ``first`` predicts (0 to 1).

    Welch's coherence, weighted by ``second``'s spectrum: two independent signals leave nearly
    all of it unexplained, two views of one signal little.
    """
    a, b = _spectra(first), _spectra(second)
    power_a = np.mean(np.abs(a) ** 2, axis=0)
    power_b = np.mean(np.abs(b) ** 2, axis=0)
    cross = np.mean(a * np.conj(b), axis=0)
    explained = np.divide(
        np.abs(cross) ** 2, power_a, out=np.zeros_like(power_b), where=power_a > 0
    )
    total = float(np.sum(power_b))
    return float(np.sum(power_b - explained)) / total if total > 0 else 1.0


def classify_layout(data: bytes) -> ChannelLayout | None:
    """The layout of 16-bit little-endian PCM bytes read as two interleaved channels.

    Args:
        data: The first bytes of the stream (any length; a trailing partial frame is ignored).

    Returns:
        The layout, or None when the bytes hold too little sound to tell (silence, or under
        0.1 s at 16 kHz).
    """
    frame = 2 * BYTES_PER_SAMPLE
    count = len(data) // frame
    if count < _MIN_FRAMES:
        return None
    stream = np.frombuffer(data, dtype="<i2", count=count * 2).astype(np.float64) / 32768.0
    level = _rms(stream)
    if level < _SILENCE_RMS:
        return None
    first, second = stream[0::2], stream[1::2]
    loud_first, loud_second = _rms(first), _rms(second)
    if _rms(first - second) <= _DUPLICATE_RATIO * max(loud_first, loud_second):
        return ChannelLayout.DUPLICATED
    if min(loud_first, loud_second) < _ACTIVE_CHANNEL * level:
        return ChannelLayout.STEREO  # one channel silent: the other party is not talking
    if _unexplained(first, second) < _MONO_UNEXPLAINED:
        return ChannelLayout.MONO
    return ChannelLayout.STEREO


def layout_of(layout: ChannelLayout | None, configured: PcmFormat) -> ListenLayout:
    """The format to read a stream with, given its recognised layout (None: unknown).

    The sample rate is always the configured one: without a ``start`` frame nothing in the
    bytes states it. Stereo keeps the configured customer channel (channel 0 unless set
    otherwise); duplicated channels are read from channel 0 (both hold the same).
    """
    rate = configured.sample_rate
    if layout is None:
        known = ChannelLayout.MONO if configured.channels == 1 else ChannelLayout.STEREO
        return ListenLayout(layout=known, source=LayoutSource.CONFIGURED, pcm=configured)
    if layout is ChannelLayout.MONO:
        pcm = PcmFormat(sample_rate=rate, channels=1, customer_channel=0)
    elif layout is ChannelLayout.DUPLICATED:
        pcm = PcmFormat(sample_rate=rate, channels=2, customer_channel=0)
    else:
        customer = configured.customer_channel if configured.channels == 2 else 0
        pcm = PcmFormat(sample_rate=rate, channels=2, customer_channel=customer)
    return ListenLayout(layout=layout, source=LayoutSource.DETECTED, pcm=pcm)
