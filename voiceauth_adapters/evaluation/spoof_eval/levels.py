"""Other level normalisations the evaluation can try in front of the countermeasure.

The detector sets speech to an RMS level itself (``antispoof.detector.normalise_level``); the
evaluation compares that with no normalisation (``--front-end none``) and with the alternative
here, a peak normalisation, applied to the trimmed speech of a detector that does none.
"""

from __future__ import annotations

import numpy as np

from voiceauth_core.audio import Audio

__all__ = ["LEVELS", "peak_to"]


def peak_to(audio: Audio, dbfs: float) -> Audio:
    """``audio`` scaled so its peak is ``dbfs`` (silence unchanged)."""
    peak = float(np.max(np.abs(audio.samples))) if audio.samples.size else 0.0
    if peak <= 0.0:
        return audio
    gain = 10.0 ** (dbfs / 20.0) / peak
    return Audio(
        samples=(audio.samples.astype(np.float64) * gain).astype(np.float32),
        sample_rate=audio.sample_rate,
    )


#: The alternatives ``--front-end`` can try, by the name the score cache keeps them under.
LEVELS = {"peak-3dBFS": lambda audio: peak_to(audio, -3.0)}
