"""The service's container: the only module that imports ``dependency_injector``.

It builds nothing itself: every provider calls a function of the composition root
(``voiceauth_web.wiring``), which the CLI and the eval tool call too; the container adds the
service's instrumentation (spans and metrics) and the process-wide singletons. Three
containers, split by layer and joined by ``Container``:

- ``Adapters``: the real technologies (database, template cipher, model, detector, decoder,
  downloader, VAPI listener, scoring policy), each wrapped with spans and metrics;
- ``UseCases``: the core's use cases over the adapters;
- ``Container``: settings, metrics, both of the above.

Tests override adapter providers with the fakes of ``voiceauth_core.testing``
(``container.adapters.model.override(providers.Object(fake))``); production wiring never uses
them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from voiceauth_core import (
    AddToWatchlist,
    AuthHistory,
    DeleteUser,
    DeleteWatchlistEntry,
    GetUser,
    GetWatchlistEntry,
    ListUsers,
    ListWatchlist,
    RecentAttempts,
    ReportFraud,
    SystemClock,
)
from voiceauth_web import startup_checks, wiring
from voiceauth_web.call_sessions import CallSessions, ListenSources
from voiceauth_web.index_keeper import GuardedIndex, IndexedUsers, IndexKeeper
from voiceauth_web.instrumented import InstrumentedAttempts, InstrumentedModel, InstrumentedUsers
from voiceauth_web.observability import Metrics
from voiceauth_web.settings import Settings
from voiceauth_web.vapi_challenge import CallChallenges
from voiceauth_web.watchlist_alerts import watchlist_alert

if TYPE_CHECKING:
    from voiceauth_adapters.sealing import TemplateCensus
    from voiceauth_adapters.sealing.cipher import TemplateCipher
    from voiceauth_adapters.sql import Database
    from voiceauth_core import Enroll, VerificationResult
    from voiceauth_core.call_session import CallSession, Claim
    from voiceauth_core.identification import OpenSetRule
    from voiceauth_core.ports import (
        AudioSource,
        DecisionBoard,
        EmbeddingModel,
        ScoringPolicy,
    )

__all__ = ["Adapters", "Container", "UseCases", "build_container", "check_database"]


def _template_check(
    cipher: TemplateCipher | None,
) -> Callable[[Database], Awaitable[TemplateCensus]]:
    """The start-up check that every sealed voiceprint opens with this configuration's keys."""

    async def check(database: Database) -> TemplateCensus:
        return await startup_checks.check_templates(database, cipher)

    return check


def _policy(settings: Settings, model: EmbeddingModel) -> ScoringPolicy:
    return wiring.scoring_policy(settings, model.model_id)


def _index(model: EmbeddingModel) -> GuardedIndex:
    return GuardedIndex(wiring.voiceprint_index(model.model_id))


def _open_set_rule(settings: Settings, model: EmbeddingModel) -> OpenSetRule:
    return wiring.open_set_rule(settings, model.model_id)


def _call_sessions(
    settings: Settings,
    listener: ListenSources,
    call_session: Callable[..., CallSession],
    enroll: Callable[[], Enroll],
    board: DecisionBoard,
    metrics: Metrics,
) -> CallSessions:
    """The replica's registry of VAPI call sessions (passive verification)."""

    def make_session(
        source: AudioSource,
        call_id: str,
        on_result: Callable[[Claim, VerificationResult], Awaitable[None]],
    ) -> CallSession:
        return call_session(source=source, call_id=call_id, on_result=on_result)

    return CallSessions(
        listener=listener,
        make_session=make_session,
        enroll=enroll,
        board=board,
        shared=settings.redis_url is not None,
        max_sessions=settings.vapi_max_sessions,
        idle_s=settings.vapi_session_idle,
        metrics=metrics,
    )


class Adapters(containers.DeclarativeContainer):
    """The real adapters, built from the settings; singletons for the process."""

    settings = providers.Dependency(instance_of=Settings)
    metrics = providers.Dependency(instance_of=Metrics)

    database = providers.Singleton(wiring.database, settings)
    schema_check = providers.Object(startup_checks.check_schema)
    # None without VOICEAUTH_TEMPLATE_KEY: the stores then keep voiceprints in the clear.
    cipher = providers.Singleton(wiring.template_cipher, settings)
    template_check = providers.Singleton(_template_check, cipher)
    stores = providers.Singleton(wiring.stores, database, cipher)
    raw_users = providers.Singleton(lambda stores: stores[0], stores)
    raw_attempts = providers.Singleton(lambda stores: stores[1], stores)
    raw_model = providers.Singleton(wiring.embedding_model, settings)
    instrumented_users = providers.Singleton(InstrumentedUsers, raw_users, metrics)
    # This replica's voiceprint index (identification); ``users`` keeps it current and tells the
    # other replicas (Redis with REDIS_URL, else Postgres LISTEN/NOTIFY); the lifespan's ``keeper``
    # fills it, follows them and re-syncs it every VOICEAUTH_IDENTIFY_RESYNC_S.
    index = providers.Singleton(_index, raw_model)
    events = providers.Singleton(wiring.voiceprint_events, settings, database)
    users = providers.Singleton(IndexedUsers, instrumented_users, index, events)
    keeper = providers.Singleton(
        IndexKeeper,
        instrumented_users,
        index,
        events,
        resync_s=settings.provided.identify_resync_s,
        on_repair=metrics.provided.count_index_repairs,
    )
    open_set = providers.Singleton(_open_set_rule, settings, raw_model)
    attempts = providers.Singleton(InstrumentedAttempts, raw_attempts, metrics)

    model = providers.Singleton(InstrumentedModel, raw_model, metrics)
    detector = providers.Singleton(wiring.speech_detector)
    telephone = providers.Singleton(wiring.telephone_line)
    policy = providers.Singleton(_policy, settings, raw_model)
    spoof = providers.Singleton(
        wiring.spoof_detector, settings, workers=raw_model.provided.worker_pool
    )
    engine = providers.Singleton(
        wiring.engine,
        settings,
        model=model,
        detector=detector,
        policy=policy,
        telephone=telephone,
        spoof=spoof,
    )
    decoder = providers.Singleton(wiring.audio_decoder, settings)
    downloader = providers.Singleton(wiring.downloader, settings)
    sources = providers.Singleton(wiring.audio_sources, settings, downloader, decoder)
    listener = providers.Singleton(
        wiring.listener, settings, on_layout=metrics.provided.count_listen_layout
    )
    clock = providers.Singleton(SystemClock)
    limiter = providers.Singleton(wiring.rate_limiter, settings)
    vapi_auth = providers.Singleton(wiring.vapi_authenticator, settings)
    board = providers.Singleton(wiring.decision_board, settings)
    # The spoken liveness challenge: its store (the shared database) and its recogniser.
    challenges = providers.Singleton(wiring.challenge_store, database)
    recognizer = providers.Singleton(wiring.digit_recognizer, settings)
    # The fraud watchlist, and the screen every verification, enrolment and identification
    # passes (its matches counted and logged by watchlist_alert).
    watchlist = providers.Singleton(wiring.watchlist_store, database, cipher)
    screen = providers.Singleton(
        wiring.watchlist_screen,
        settings,
        watchlist,
        policy,
        on_match=providers.Singleton(watchlist_alert, settings, metrics),
    )


class UseCases(containers.DeclarativeContainer):
    """The core's use cases over the adapters."""

    settings = providers.Dependency(instance_of=Settings)
    adapters = providers.DependenciesContainer()

    gate = providers.Singleton(wiring.quality_gate, settings)
    plan = providers.Singleton(wiring.capture_plan, settings)
    tool_plan = providers.Singleton(wiring.tool_plan, settings)
    enroll = providers.Factory(
        wiring.enroll,
        settings,
        adapters.engine,
        users=adapters.users,
        clock=adapters.clock,
        screen=adapters.screen,
    )
    verify = providers.Factory(
        wiring.verify,
        settings,
        adapters.engine,
        users=adapters.users,
        attempts=adapters.attempts,
        clock=adapters.clock,
        screen=adapters.screen,
    )
    report_fraud = providers.Factory(
        ReportFraud, attempts=adapters.attempts, watchlist=adapters.watchlist, clock=adapters.clock
    )
    add_to_watchlist = providers.Factory(
        AddToWatchlist,
        model=adapters.model,
        detector=adapters.detector,
        gate=gate,
        watchlist=adapters.watchlist,
        clock=adapters.clock,
    )
    list_watchlist = providers.Factory(ListWatchlist, watchlist=adapters.watchlist)
    get_watchlist_entry = providers.Factory(GetWatchlistEntry, watchlist=adapters.watchlist)
    delete_watchlist_entry = providers.Factory(DeleteWatchlistEntry, watchlist=adapters.watchlist)
    history = providers.Factory(AuthHistory, users=adapters.users, attempts=adapters.attempts)
    get_user = providers.Factory(GetUser, users=adapters.users)
    list_users = providers.Factory(ListUsers, users=adapters.users)
    delete_user = providers.Factory(DeleteUser, users=adapters.users)
    identify = providers.Factory(
        wiring.identify,
        settings,
        adapters.engine,
        users=adapters.users,
        index=adapters.index,
        rule=adapters.open_set,
        screen=adapters.screen,
    )
    recent = providers.Factory(RecentAttempts, attempts=adapters.attempts)
    issue_challenge = providers.Factory(
        wiring.issue_challenge,
        settings,
        users=adapters.users,
        challenges=adapters.challenges,
        clock=adapters.clock,
    )
    redeem_challenge = providers.Factory(
        wiring.redeem_challenge,
        settings,
        challenges=adapters.challenges,
        recognizer=adapters.recognizer,
        clock=adapters.clock,
    )
    call_session = providers.Factory(
        wiring.call_session,
        settings,
        adapters.engine,
        users=adapters.users,
        attempts=adapters.attempts,
        clock=adapters.clock,
        screen=adapters.screen,
    )


class Container(containers.DeclarativeContainer):
    """Everything the web shell needs."""

    settings = providers.Dependency(instance_of=Settings)
    metrics = providers.Singleton(Metrics)
    adapters = providers.Container(Adapters, settings=settings, metrics=metrics)
    use_cases = providers.Container(UseCases, settings=settings, adapters=adapters)
    call_sessions = providers.Singleton(
        _call_sessions,
        settings,
        adapters.listener,
        use_cases.call_session.provider,
        use_cases.enroll.provider,
        adapters.board,
        metrics,
    )
    # The liveness challenges open in the VAPI calls this replica listens to.
    call_challenges = providers.Singleton(
        CallChallenges, rule=providers.Callable(wiring.challenge_rule, settings)
    )


async def check_database(container: Container, database: Database) -> bool:
    """The start-up checks of an opened database, as ``serve`` and the commands that touch
    voiceprints run them: the schema, then that every sealed voiceprint opens.

    Args:
        container: The service's container (tests override its checks with fakes).
        database: The opened database.

    Returns:
        True when no template key is configured (voiceprints are written in the clear), for the
        caller to warn about in its own way.

    Raises:
        SchemaVersionError: The database is behind or ahead of the code.
        TemplateProtectionError: Sealed voiceprints this configuration cannot open.
    """
    adapters = container.adapters
    await adapters.schema_check()(database)
    await adapters.template_check()(database)
    return adapters.cipher() is None


def build_container(settings: Settings) -> Container:
    """A container for ``settings`` (nothing is built until asked for)."""
    return Container(settings=providers.Object(settings))
