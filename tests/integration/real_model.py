"""The real model and the speech fixtures, loaded once per test process.

The model is found the way the service finds it (``VOICEAUTH_MODEL_DIR``, else the cache that
``make model`` fills); a missing model fails the tests that need it, it never skips them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import soundfile as sf

from voiceauth_adapters.speechbrain import SpeechBrainEcapa, resolve_model
from voiceauth_core import CANONICAL_RATE, Audio
from voiceauth_web.settings import Settings

REPOSITORY = Path(__file__).resolve().parents[2]
SPEECH = REPOSITORY / "tests" / "fixtures" / "speech"


def cache_dir() -> Path:
    """The cache `make model` fills (``VOICEAUTH_CACHE_DIR``, else ``~/.cache/voiceauth``)."""
    return Settings.from_env().cache_dir


@functools.cache
def model_files() -> Path:
    """The folder holding the five verified files; raises if `make model` has not run."""
    settings = Settings.from_env()
    resolved = resolve_model(
        model_dir=settings.model_dir, cache_dir=settings.cache_dir, allow_download=False
    )
    return resolved.directory


@functools.cache
def ecapa() -> SpeechBrainEcapa:
    """The verified ECAPA model on two threads."""
    return SpeechBrainEcapa.load(model_files(), threads=2)


def speech(name: str) -> Audio:
    """A fixture clip (``103_a``, ``103_b``, ``1088_a``, ...) as 16 kHz audio."""
    samples, rate = sf.read(SPEECH / f"{name}.flac", dtype="float32")
    assert rate == CANONICAL_RATE
    return Audio(samples=samples, sample_rate=rate)


class RealVoices:
    """The voices an embedding-model contract test hears: two clips of LibriSpeech speaker 103
    (``voice_a1``, ``voice_a2``) and one of speaker 1088 (``voice_b``)."""

    @pytest.fixture
    def voice_a1(self) -> Audio:
        return speech("103_a")

    @pytest.fixture
    def voice_a2(self) -> Audio:
        return speech("103_b")

    @pytest.fixture
    def voice_b(self) -> Audio:
        return speech("1088_a")
