"""Sub-commands of the ``voiceauth`` command line, one module per group."""

from __future__ import annotations

import argparse
from typing import TypeAlias

__all__ = ["Subcommands"]

#: What each command module's ``register`` adds its parsers to.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
