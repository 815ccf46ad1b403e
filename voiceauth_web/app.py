"""``create_app(container)``: the Litestar application, wired from the container."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from loguru import logger

from voiceauth_web import startup_checks, wiring
from voiceauth_web.api_docs import openapi_config, swagger_assets
from voiceauth_web.containers import Container, check_database
from voiceauth_web.error_responses import handle_exception
from voiceauth_web.index_keeper import IndexStatus
from voiceauth_web.middleware import AccessControl, RequestContext
from voiceauth_web.routes import HANDLERS
from voiceauth_web.routes.health import VERSION
from voiceauth_web.security import ClientAddress, KeyChecker
from voiceauth_web.startup_checks import CLEAR_TEMPLATES_WARNING

__all__ = ["create_app"]

T = TypeVar("T")


class _Resource(Protocol):
    """What the lifespan opened and closes at shutdown."""

    async def close(self) -> None: ...


def _provide(factory: Callable[[], T]) -> Provide:
    """A Litestar dependency that asks the container (never a service locator in handlers)."""

    def dependency() -> T:
        return factory()

    return Provide(dependency, sync_to_thread=False)


def create_app(container: Container) -> Litestar:
    """The HTTP application over ``container``; resources open and close with it."""
    settings = container.settings()
    adapters, use_cases = container.adapters, container.use_cases
    limiter = adapters.limiter()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        started = time.perf_counter()
        database = adapters.database()
        await database.open()
        opened: list[_Resource] = [database]
        try:
            if await check_database(container, database):
                logger.warning(CLEAR_TEMPLATES_WARNING)
            # The model and the detector load now, off the loop, never on a first request.
            model = await asyncio.to_thread(adapters.model)
            await asyncio.to_thread(adapters.detector)
            await asyncio.to_thread(adapters.policy)
            await asyncio.to_thread(adapters.open_set)
            await asyncio.to_thread(adapters.spoof)
            await asyncio.to_thread(adapters.recognizer)  # the liveness challenge's
            # The voiceprint index of identification, filled from the store before any request.
            events = adapters.events()
            if events is not None:
                opened.append(events)
            keeper = adapters.keeper()
            await keeper.start()
            opened.append(keeper)
            # pgvector is looked for once and reported, never searched (sealed voiceprints).
            pgvector = await startup_checks.check_vector_search(database)
            if (note := startup_checks.vector_search_note(pgvector)) is not None:
                logger.info(note)
            app.state.index_status = IndexStatus(
                index=adapters.index(),
                events=wiring.events_transport(settings),
                pgvector=pgvector,
            )
            for resource in (adapters.downloader(), adapters.listener()):
                await resource.open()
                opened.append(resource)
            # The VAPI call sessions, after the listener they listen with (closed before it).
            sessions = container.call_sessions()
            challenges = container.call_challenges()
            sessions.answer_challenges_with(
                lambda call_id, claim: challenges.answer(
                    call_id=call_id,
                    claim=claim,
                    sessions=sessions,
                    redeem=use_cases.redeem_challenge(),
                    verify=use_cases.verify(),
                    metrics=container.metrics(),
                )
            )
            await sessions.open()
            opened.append(sessions)
            logger.bind(model=model.model_id, seconds=round(time.perf_counter() - started, 2)).info(
                "voiceauth ready"
            )
            yield
        finally:
            for resource in reversed(opened):
                await resource.close()
            if limiter is not None:
                await limiter.close()

    dependencies = {
        "enroll": _provide(use_cases.enroll),
        "verify": _provide(use_cases.verify),
        "history": _provide(use_cases.history),
        "get_user": _provide(use_cases.get_user),
        "list_users": _provide(use_cases.list_users),
        "delete_user": _provide(use_cases.delete_user),
        "recent": _provide(use_cases.recent),
        "issue_challenge": _provide(use_cases.issue_challenge),
        "redeem_challenge": _provide(use_cases.redeem_challenge),
        "identify": _provide(use_cases.identify),
        "report_fraud": _provide(use_cases.report_fraud),
        "add_to_watchlist": _provide(use_cases.add_to_watchlist),
        "list_watchlist": _provide(use_cases.list_watchlist),
        "get_watchlist_entry": _provide(use_cases.get_watchlist_entry),
        "delete_watchlist_entry": _provide(use_cases.delete_watchlist_entry),
        "tool_plan": _provide(use_cases.tool_plan),
        "gate": _provide(use_cases.gate),
        "sources": _provide(adapters.sources),
        "listener": _provide(adapters.listener),
        "database": _provide(adapters.database),
        "schema_check": _provide(adapters.schema_check),
        "model": _provide(adapters.model),
        "policy": _provide(adapters.policy),
        "metrics": _provide(container.metrics),
        "settings": _provide(container.settings),
        "sessions": _provide(container.call_sessions),
        "call_challenges": _provide(container.call_challenges),
    }
    middleware = [
        DefineMiddleware(RequestContext, metrics=container.metrics()),
        DefineMiddleware(
            AccessControl,
            keys=KeyChecker(settings.api_keys),
            vapi=adapters.vapi_auth(),
            limiter=limiter,
            clients=ClientAddress(settings.trusted_proxies),
            max_body=settings.max_upload_bytes + 64 * 1024,
        ),
    ]
    cors = (
        CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "X-Call-ID", "Content-Type"],
            expose_headers=["X-Call-ID"],
        )
        if settings.cors_origins
        else None
    )
    return Litestar(
        route_handlers=[*HANDLERS, swagger_assets()],
        dependencies=dependencies,
        middleware=middleware,
        lifespan=[lifespan],
        exception_handlers={Exception: handle_exception},
        # Litestar's default logging config would replace the root handler and print the
        # adapters' (and SpeechBrain's) records as plain text beside our JSON lines.
        logging_config=None,
        cors_config=cors,
        request_max_body_size=settings.max_upload_bytes + 64 * 1024,
        openapi_config=openapi_config(VERSION),
    )
