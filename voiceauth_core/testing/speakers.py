"""Two synthetic speakers the tests share: ``ALICE`` and ``BOB`` sound like different people."""

from __future__ import annotations

from dataclasses import dataclass

from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.testing.signals import synthetic_voice

__all__ = ["ALICE", "BOB", "SyntheticSpeaker"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticSpeaker:
    """A speaker's voice as :func:`synthetic_voice` shapes it.

    Args:
        f0: Fundamental frequency in Hz (pitch).
        formants: Centre frequencies of the spectral envelope's peaks, in Hz.
    """

    f0: float
    formants: tuple[float, ...]

    def voice(
        self, *, seconds: float = 3.0, seed: int = 0, sample_rate: int = CANONICAL_RATE
    ) -> Audio:
        """This speaker saying ``seconds`` of syllables; ``seed`` varies timing and jitter."""
        return synthetic_voice(
            f0=self.f0,
            formants=self.formants,
            seconds=seconds,
            seed=seed,
            sample_rate=sample_rate,
        )


#: A low voice (the default of :func:`synthetic_voice`).
ALICE = SyntheticSpeaker(f0=120.0, formants=(700.0, 1200.0, 2600.0))
#: A higher voice with other formants: the fake model tells it from ``ALICE``.
BOB = SyntheticSpeaker(f0=210.0, formants=(400.0, 2000.0, 2900.0))
