"""How handlers annotate an injected adapter that Litestar must not check with ``isinstance``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from litestar.params import Dependency

from voiceauth_adapters.sql import Database
from voiceauth_adapters.vapi import VapiListener

__all__ = ["CallListener", "SchemaCheck", "ServiceDatabase"]

#: The VAPI listener. mypy checks its use; Litestar skips its isinstance check, so that a
#: container may hand the handlers another listener with the same ``source`` (a fake in tests).
CallListener = Annotated[VapiListener, Dependency(skip_validation=True)]

#: The opened database (a Protocol, which Litestar cannot check with ``isinstance``).
ServiceDatabase = Annotated[Database, Dependency(skip_validation=True)]

#: The start-up schema check, run again by the readiness probe.
SchemaCheck = Annotated[Callable[[Database], Awaitable[None]], Dependency(skip_validation=True)]
