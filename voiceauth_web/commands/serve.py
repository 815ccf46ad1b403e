"""``voiceauth serve``: run the HTTP service (uvicorn, one process)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys

from voiceauth_web.commands import Subcommands
from voiceauth_web.settings import Settings

__all__ = ["register"]


def register(subparsers: Subcommands) -> None:
    """Add the ``serve`` command."""
    parser = subparsers.add_parser("serve", help="run the HTTP service")
    parser.add_argument("--host", help="address to listen on (default: $HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: $PORT or 8000)")
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415
    from loguru import logger  # noqa: PLC0415

    from voiceauth_web.app import create_app  # noqa: PLC0415
    from voiceauth_web.containers import build_container  # noqa: PLC0415
    from voiceauth_web.observability import configure_logging, configure_tracing  # noqa: PLC0415

    settings = Settings.from_env()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = dataclasses.replace(settings, **overrides)
        settings.check()
    configure_logging(settings.log_level)
    configure_tracing()
    if settings.allow_private_networks:
        logger.warning(
            "VOICEAUTH_ALLOW_PRIVATE_NETWORKS is on: audio URLs and listen sockets may reach "
            "private and loopback addresses. For development and tests only."
        )
    if not settings.api_keys:
        logger.warning(
            "no VOICEAUTH_API_KEYS: the API is open to anyone who can reach {}", settings.host
        )
    refused = _preflight(settings)
    if refused is not None:
        logger.error("voiceauth cannot start: {}", refused)
        print(f"voiceauth: {refused}", file=sys.stderr)
        return 1
    app = create_app(build_container(settings))
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=30,
        # TRUSTED_PROXIES (security.ClientAddress) is the one rule for whose X-Forwarded-For is
        # believed. uvicorn's own handling trusts loopback (or FORWARDED_ALLOW_IPS) and would
        # rewrite the client's address before that rule sees the request.
        proxy_headers=False,
    )
    return 0


def _preflight(settings: Settings) -> str | None:
    """The service's start-up checks of the database, run before uvicorn starts.

    The app's lifespan runs them again, but a refusal there reaches the operator as uvicorn's
    lifespan traceback. Run here first, an unmigrated database, a missing template key or
    ``onnx-int8`` on a CPU without VNNI is one line naming the fix, and the command exits 1.

    Returns:
        Why the service cannot start, or None.
    """
    from voiceauth_core import VoiceAuthError  # noqa: PLC0415
    from voiceauth_web.containers import build_container, check_database  # noqa: PLC0415

    async def check() -> None:
        container = build_container(settings)
        database = container.adapters.database()
        await database.open()
        try:
            await check_database(container, database)
        finally:
            await database.close()

    if settings.inference_backend == "onnx-int8":
        from voiceauth_adapters.onnx.quantized import require_int8_cpu  # noqa: PLC0415
        from voiceauth_adapters.speechbrain import ModelUnavailableError  # noqa: PLC0415

        try:
            require_int8_cpu()
        except ModelUnavailableError as exc:
            return str(exc)
    try:
        asyncio.run(check())
    except VoiceAuthError as exc:
        return f"{exc.name}: {exc.message}"
    return None
