"""Sound as the core sees it: mono float32 samples in [-1, 1] at a known sample rate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceauth_core.errors import AudioProcessingError

__all__ = ["CANONICAL_RATE", "Audio"]

#: The rate every audio source delivers and every model and detector consumes (16 kHz).
CANONICAL_RATE = 16_000

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Audio:
    """A mono recording.

    The samples are copied into a read-only float32 array, so an ``Audio`` never changes after
    it is made. Equality is identity: compare ``samples`` explicitly where that is meant.

    Args:
        samples: One-dimensional samples, nominally in [-1, 1].
        sample_rate: Samples per second, positive.
    """

    samples: Samples
    sample_rate: int

    def __post_init__(self) -> None:
        array = np.asarray(self.samples, dtype=np.float32)
        if array.ndim != 1:
            raise AudioProcessingError("audio must be mono (one channel)", reason="not_mono")
        if self.sample_rate <= 0:
            raise AudioProcessingError("sample rate must be positive", reason="bad_rate")
        if not np.all(np.isfinite(array)):
            raise AudioProcessingError("audio contains invalid samples", reason="undecodable")
        if array is self.samples and array.flags.writeable:
            array = array.copy()  # never alias a buffer the caller may still change
        array.setflags(write=False)
        object.__setattr__(self, "samples", array)

    @classmethod
    def silence(cls, seconds: float, sample_rate: int = CANONICAL_RATE) -> Audio:
        """Digital silence of the given length."""
        return cls(
            samples=np.zeros(round(seconds * sample_rate), np.float32), sample_rate=sample_rate
        )

    @classmethod
    def from_pcm16(cls, data: bytes, sample_rate: int) -> Audio:
        """Mono 16-bit signed little-endian PCM bytes; a trailing odd byte is ignored."""
        usable = len(data) - len(data) % 2
        pcm = np.frombuffer(data[:usable], dtype="<i2")
        return cls(samples=pcm.astype(np.float32) / 32768.0, sample_rate=sample_rate)

    @classmethod
    def concatenate(cls, parts: Iterable[Audio], sample_rate: int = CANONICAL_RATE) -> Audio:
        """Join recordings of one rate end to end (no parts: empty audio at ``sample_rate``)."""
        chunks = list(parts)
        if not chunks:
            return cls(samples=np.zeros(0, np.float32), sample_rate=sample_rate)
        rates = {chunk.sample_rate for chunk in chunks}
        if len(rates) != 1:
            raise AudioProcessingError(
                "cannot join audio of different sample rates", reason="bad_rate"
            )
        return cls(samples=np.concatenate([c.samples for c in chunks]), sample_rate=rates.pop())

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def slice(self, start_s: float, end_s: float | None = None) -> Audio:
        """The part between two times in seconds (the end defaults to the end)."""
        start = max(0, round(start_s * self.sample_rate))
        end = len(self.samples) if end_s is None else max(start, round(end_s * self.sample_rate))
        return Audio(samples=self.samples[start:end], sample_rate=self.sample_rate)

    def rms(self) -> float:
        """Root-mean-square level (0.0 for empty audio)."""
        if len(self.samples) == 0:
            return 0.0
        return float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64))))

    def clipped_fraction(self, level: float = 0.999) -> float:
        """The fraction of samples at or beyond ``level`` in magnitude (0.0 for empty audio)."""
        if len(self.samples) == 0:
            return 0.0
        return float(np.mean(np.abs(self.samples) >= level))
