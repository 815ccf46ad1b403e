"""The real model and speech fixtures, loaded once per test process."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import soundfile as sf

from voiceauth_adapters.speechbrain import SpeechBrainEcapa, resolve_model
from voiceauth_core import CANONICAL_RATE, Audio

SPEECH = Path(__file__).resolve().parents[1] / "fixtures" / "speech"


def cache_dir() -> Path:
    """The cache `make model` fills (``VOICEAUTH_CACHE_DIR`` or ``~/.cache/voiceauth``)."""
    return Path(os.environ.get("VOICEAUTH_CACHE_DIR", Path.home() / ".cache" / "voiceauth"))


@functools.cache
def ecapa() -> SpeechBrainEcapa:
    """The verified ECAPA model; fails (never skips) when `make model` has not fetched it."""
    resolved = resolve_model(model_dir=None, cache_dir=cache_dir(), allow_download=False)
    return SpeechBrainEcapa.load(resolved.directory, threads=2)


def speech(name: str) -> Audio:
    """A fixture clip (``103_a``, ``103_b``, ``1088_a``, ...) as 16 kHz audio."""
    samples, rate = sf.read(SPEECH / f"{name}.flac", dtype="float32")
    assert rate == CANONICAL_RATE
    return Audio(samples=samples, sample_rate=rate)
