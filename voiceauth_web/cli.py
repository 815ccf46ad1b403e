"""The ``voiceauth`` command: one sub-command module each, imported only when asked for."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from voiceauth_web.settings import SettingsError

__all__ = ["main"]

# Sub-command name -> module under voiceauth_web.commands exposing ``register(subparsers)``.
# Modules import their heavy dependencies (torch, litestar, ...) inside the command functions.
COMMANDS: dict[str, str] = {
    "serve": "serve",
    "model": "model",
    "db": "db",
    "embed": "audio",
    "compare": "audio",
    "enroll": "users",
    "verify": "users",
    "eval": "evaluate",
    "cohort": "cohort",
    "dashboard": "dashboard",
    "spoof-corpus": "spoof_corpus",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command whose module is present."""
    parser = argparse.ArgumentParser(
        prog="voiceauth", description="Voice authentication: enrol voiceprints, verify callers."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in dict.fromkeys(COMMANDS.values()):
        try:
            module = importlib.import_module(f"voiceauth_web.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"voiceauth_web.commands.{module_name}":
                continue  # not built yet in this version
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except SettingsError as exc:
        print(f"voiceauth: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
