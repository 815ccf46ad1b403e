"""The real anti-spoofing weights and detector, loaded once per test process.

The weights are found where the service finds them (the cache that ``make model`` fills); a
missing or altered file fails the tests that need it, it never skips them.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

from tests.integration.real_model import cache_dir
from voiceauth_adapters.antispoof import (
    DETECTOR_ID,
    AasistDetector,
    export_dir_for,
    resolve_weights,
)
from voiceauth_adapters.whisper import cached_model_dir, resolve_model
from voiceauth_core import SpoofCalibration

#: The network's own posterior (a softmax over two logits is the logistic of their difference):
#: enough for the contract, which checks shape and order, not a fitted operating point.
SOFTMAX = SpoofCalibration(scale=1.0, offset=0.0, detector_id=DETECTOR_ID)


@functools.cache
def aasist_weights() -> Path:
    """The verified ``AASIST.pth``; raises if `make model` has not run."""
    weights, _ = resolve_weights(cache_dir=cache_dir(), allow_download=False)
    return weights


@functools.cache
def aasist() -> AasistDetector:
    """The detector on one thread, its export where `voiceauth model fetch` put it."""
    weights = aasist_weights()
    return AasistDetector.load(
        weights, export_dir=export_dir_for(weights, cache_dir()), calibration=SOFTMAX
    )


@functools.cache
def whisper_files() -> Path:
    """The verified Whisper files `make model` cached; raises if it has not run."""
    folder, _ = resolve_model(cache_dir=cache_dir(), allow_download=False)
    return folder


def seed_whisper_cache(cache: Path, published: Path) -> None:
    """Copy the verified Whisper files into a test's ``cache``, so that `model fetch` finds
    them there and downloads nothing (call :func:`whisper_files` before moving the cache)."""
    shutil.copytree(published, cached_model_dir(cache))
