"""The composition root: every adapter and use case, built from ``Settings``, typed.

The service's container (``voiceauth_web.containers``), every CLI command and the eval tool
build what they use here, and only here, from the same ``Settings``. Each function reads the
settings it needs and calls the library builder of ``voiceauth_adapters.pipeline`` (which library
users call directly through ``local_pipeline()``), so the service, the CLI, the eval tool and a
library user hear, embed and score a voice with the same parts. ``tests/unit/test_wiring.py``
fails when a use case built by the service and one built by the eval tool differ in their ports.

Nothing here imports a web framework or ``dependency_injector``; heavy adapters are imported
inside the functions so that ``voiceauth --help`` stays fast.

Where a new port goes: see the README's architecture section (five steps).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING

from voiceauth_adapters import pipeline
from voiceauth_adapters.pipeline import Engine
from voiceauth_core.challenge import ChallengeRule
from voiceauth_core.quality import QualityGate
from voiceauth_core.spoof_gate import SpoofGate
from voiceauth_core.use_cases import (
    CapturePlan,
    Enroll,
    Identify,
    IssueChallenge,
    RedeemChallenge,
    Verify,
)
from voiceauth_web.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from voiceauth_adapters.audio import FfmpegSoundfileDecoder
    from voiceauth_adapters.http import AudioSourceFactory, HttpDownloader
    from voiceauth_adapters.index import MatrixVoiceprintIndex
    from voiceauth_adapters.inference import BoundedInferencePool, WorkerPool
    from voiceauth_adapters.sealing.cipher import TemplateCipher
    from voiceauth_adapters.sql import Database
    from voiceauth_adapters.vapi import VapiListener
    from voiceauth_adapters.vapi.layout import ListenLayout
    from voiceauth_core.call_session import CallSession, Claim
    from voiceauth_core.identification import OpenSetRule
    from voiceauth_core.ports import (
        AttemptLog,
        AudioSource,
        ChallengeStore,
        Clock,
        DecisionBoard,
        DigitRecognizer,
        EmbeddingModel,
        ScoringPolicy,
        SpeechDetector,
        SpoofDetector,
        TelephoneChannel,
        UserRepository,
        VoiceprintEvents,
        VoiceprintIndex,
        Watchlist,
    )
    from voiceauth_core.use_cases import VerificationResult
    from voiceauth_core.watchlist import WatchlistMatch, WatchlistScreen
    from voiceauth_web.security import RateLimiter, VapiAuthenticator

__all__ = [
    "Engine",
    "audio_decoder",
    "audio_sources",
    "call_session",
    "capture_plan",
    "challenge_rule",
    "challenge_store",
    "database",
    "decision_board",
    "digit_recognizer",
    "downloader",
    "embedding_model",
    "engine",
    "enroll",
    "events_transport",
    "identify",
    "issue_challenge",
    "listener",
    "open_set_rule",
    "probe_retention",
    "quality_gate",
    "rate_limiter",
    "redeem_challenge",
    "scoring_policy",
    "speech_detector",
    "spoof_detector",
    "spoof_gate",
    "stores",
    "telephone_line",
    "template_cipher",
    "tool_plan",
    "vapi_authenticator",
    "verify",
    "voiceprint_events",
    "voiceprint_index",
    "watchlist_screen",
    "watchlist_store",
]

# Storage.


def database(settings: Settings) -> Database:
    """The configured database, not yet opened: Postgres for ``DATABASE_URL``, else SQLite.

    Raises:
        ValueError: ``DATABASE_URL`` is not a ``postgres://`` URL.
    """
    if settings.database_url:
        from voiceauth_adapters.postgres import PostgresDatabase  # noqa: PLC0415

        return PostgresDatabase(
            settings.database_url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            statement_cache=settings.db_statement_cache,
        )
    from voiceauth_adapters.sqlite import SqliteDatabase  # noqa: PLC0415

    return SqliteDatabase(settings.sqlite_path)


def template_cipher(settings: Settings) -> TemplateCipher | None:
    """The voiceprints' cipher for ``VOICEAUTH_TEMPLATE_KEY``, or None when it is unset.

    Raises:
        InvalidInputError: The key is malformed (``Settings.from_env`` refuses it first).
    """
    if settings.template_key is None:
        return None
    from voiceauth_adapters.sealing import parse_keyring  # noqa: PLC0415
    from voiceauth_adapters.sealing.cipher import TemplateCipher  # noqa: PLC0415

    return TemplateCipher(parse_keyring(settings.template_key))


def stores(database: Database, cipher: TemplateCipher | None) -> tuple[UserRepository, AttemptLog]:
    """The enrolment store and attempt log over ``database`` (usable once it is opened).

    With a ``cipher`` the store seals every voiceprint it writes; without, it writes them in
    the clear. It reads both.
    """
    return database.stores(cipher)


def watchlist_store(database: Database, cipher: TemplateCipher | None) -> Watchlist:
    """The fraud watchlist over ``database``; with a ``cipher`` its embeddings are sealed."""
    return database.watchlist(cipher)


def watchlist_screen(
    settings: Settings,
    watchlist: Watchlist,
    policy: ScoringPolicy,
    *,
    on_match: Callable[[WatchlistMatch, str], None] | None = None,
) -> WatchlistScreen:
    """The screen every verification, enrolment and identification passes: the watchlist at
    ``VOICEAUTH_WATCHLIST_THRESHOLD``, with its configured actions."""
    from voiceauth_core.watchlist import (  # noqa: PLC0415
        EnrollAction,
        WatchlistAction,
        WatchlistScreen,
    )

    return WatchlistScreen(
        watchlist=watchlist,
        policy=policy,
        threshold=settings.watchlist_threshold,
        action=WatchlistAction(settings.watchlist_action),
        enroll_action=EnrollAction(settings.watchlist_enroll_action),
        on_match=on_match,
    )


def probe_retention(settings: Settings) -> timedelta | None:
    """How long an attempt keeps the caller's embedding (None with
    ``VOICEAUTH_PROBE_RETENTION_DAYS=0``: not kept, and report-fraud has nothing to report)."""
    if settings.probe_retention_days == 0:
        return None
    return timedelta(days=settings.probe_retention_days)


# Audio, model and scoring.


def embedding_model(settings: Settings, *, threads: int | None = None) -> BoundedInferencePool:
    """The ECAPA-TDNN model on ``VOICEAUTH_INFERENCE``, behind the bounded pool.

    Never downloads: ``voiceauth model fetch`` (or the image build) did that.

    Raises:
        ModelUnavailableError: The files are missing or fail their SHA-256 check.
    """
    return pipeline.embedding_model(
        backend=settings.inference_backend,
        model_dir=settings.model_dir,
        cache_dir=settings.cache_dir,
        threads=settings.inference_threads if threads is None else threads,
        workers=settings.inference_workers,
        queue_timeout=settings.inference_queue_timeout,
        nice=settings.inference_nice,
    )


def speech_detector() -> SpeechDetector:
    """The speech detector (Silero VAD)."""
    return pipeline.speech_detector()


def telephone_line() -> TelephoneChannel:
    """The simulated G.711 line enrolments are also heard through."""
    return pipeline.telephone_line()


def spoof_detector(
    settings: Settings, *, workers: WorkerPool | None = None
) -> SpoofDetector | None:
    """The synthetic-speech countermeasure, or None with ``VOICEAUTH_SPOOF_CHECK=0``; in the
    speaker model's ``workers`` when given (the service), so both share the cores.

    Raises:
        ModelUnavailableError: Its weights or calibration are missing (``voiceauth model fetch``).
    """
    if not settings.spoof_check:
        return None
    return pipeline.spoof_detector(cache_dir=settings.cache_dir, workers=workers)


def spoof_gate(settings: Settings) -> SpoofGate:
    """When a spoof assessment turns an accept into a step-up, and refuses an enrolment."""
    return SpoofGate(
        step_up_probability=settings.spoof_step_up,
        elevated_probability=settings.spoof_elevated,
        baseline_margin=settings.spoof_baseline_margin,
        refuse_enroll_probability=settings.spoof_enroll_refuse,
    )


def scoring_policy(
    settings: Settings,
    model_id: str,
    *,
    cohort_path: Path | None = None,
    calibration_path: Path | None = None,
) -> ScoringPolicy:
    """``VOICEAUTH_SCORING`` at ``VOICE_THRESHOLD``, for the running model (the eval tool may
    measure another cohort or calibration file)."""
    return pipeline.scoring_policy(
        scoring=settings.scoring,
        threshold=settings.voice_threshold,
        model_id=model_id,
        cohort_path=cohort_path,
        calibration_path=calibration_path,
    )


def audio_decoder(settings: Settings) -> FfmpegSoundfileDecoder:
    """The decoder of uploads, URLs and files, bounded by ``MAX_UPLOAD_BYTES`` and duration."""
    return pipeline.audio_decoder(
        max_bytes=settings.max_upload_bytes, max_seconds=settings.max_audio_duration
    )


def engine(
    settings: Settings,
    *,
    model: EmbeddingModel,
    detector: SpeechDetector,
    policy: ScoringPolicy,
    telephone: TelephoneChannel | None,
    spoof: SpoofDetector | None,
) -> Engine:
    """The ports every use case shares (the container passes its instrumented ones)."""
    return Engine(
        model=model,
        detector=detector,
        policy=policy,
        telephone=telephone,
        spoof=spoof,
        spoof_gate=spoof_gate(settings),
    )


# The network.


def downloader(settings: Settings) -> HttpDownloader:
    """The audio-URL downloader: public addresses only (unless allowed), bounded size and time."""
    from voiceauth_adapters.http import AddressPolicy, HttpDownloader  # noqa: PLC0415

    return HttpDownloader(
        max_bytes=settings.max_upload_bytes,
        timeout_s=settings.download_timeout,
        policy=AddressPolicy.build(allow_private_networks=settings.allow_private_networks),
    )


def audio_sources(
    settings: Settings, downloader: HttpDownloader, decoder: FfmpegSoundfileDecoder
) -> AudioSourceFactory:
    """Audio sources for URLs and uploads."""
    from voiceauth_adapters.http import AudioSourceFactory  # noqa: PLC0415

    return AudioSourceFactory(
        downloader=downloader, decoder=decoder, max_upload_bytes=settings.max_upload_bytes
    )


def listener(
    settings: Settings, *, on_layout: Callable[[ListenLayout], None] | None = None
) -> VapiListener:
    """The VAPI listen-socket client (customer channel, bounded capture); ``on_layout`` is
    told each call's channel layout (the metrics count it)."""
    from voiceauth_adapters.vapi import PcmFormat, VapiListener  # noqa: PLC0415

    return VapiListener(
        on_layout=on_layout,
        public_key=settings.vapi_public_key,
        allowed_hosts=settings.vapi_allowed_hosts,
        allow_private_networks=settings.allow_private_networks,
        pcm=PcmFormat(
            sample_rate=settings.vapi_sample_rate,
            channels=settings.vapi_channels,
            customer_channel=settings.vapi_customer_channel,
        ),
        max_audio_s=settings.max_audio_duration,
        timeout_s=settings.websocket_timeout,
    )


def rate_limiter(settings: Settings) -> RateLimiter | None:
    """Per-client request limits (Redis when ``REDIS_URL`` is set), or None when off."""
    from voiceauth_web.security import InMemoryRateLimiter, RedisRateLimiter  # noqa: PLC0415

    if settings.rate_limit_per_minute == 0:
        return None
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, settings.rate_limit_per_minute)
    return InMemoryRateLimiter(settings.rate_limit_per_minute)


def vapi_authenticator(settings: Settings) -> VapiAuthenticator:
    """VAPI's credentials: ``VAPI_TOOL_SECRET`` as a header or bearer token, and the HMAC
    signature when ``VAPI_HMAC_SECRET`` is set."""
    from voiceauth_web.security import HmacSignature, VapiAuthenticator  # noqa: PLC0415

    signature = (
        HmacSignature(
            settings.vapi_hmac_secret,
            algorithm=settings.vapi_hmac_algorithm,
            signature_header=settings.vapi_hmac_signature_header,
            timestamp_header=settings.vapi_hmac_timestamp_header,
            tolerance_s=settings.vapi_hmac_tolerance,
        )
        if settings.vapi_hmac_secret
        else None
    )
    secrets = [settings.vapi_tool_secret] if settings.vapi_tool_secret else []
    return VapiAuthenticator(secrets, signature)


# Rules and use cases.


def quality_gate(settings: Settings) -> QualityGate:
    """The quality gate from ``MAX_AUDIO_DURATION`` and the speech minimums."""
    return QualityGate(
        max_duration_s=settings.max_audio_duration,
        min_enroll_speech_s=settings.min_enroll_speech,
        strong_enroll_speech_s=settings.strong_enroll_speech,
        min_verify_speech_s=settings.min_verify_speech,
    )


def capture_plan(settings: Settings) -> CapturePlan:
    """How long a verification listens and how much speech it aims for."""
    return CapturePlan(
        max_audio_s=settings.max_audio_duration, target_speech_s=settings.target_verify_speech
    )


def tool_plan(settings: Settings) -> CapturePlan:
    """The capture plan of a VAPI tool call, which must answer inside the tool's timeout."""
    return CapturePlan(
        max_audio_s=min(settings.tool_max_capture, settings.max_audio_duration),
        target_speech_s=settings.target_verify_speech,
    )


def enroll(
    settings: Settings,
    engine: Engine,
    *,
    users: UserRepository,
    clock: Clock,
    screen: WatchlistScreen | None = None,
) -> Enroll:
    """``Enroll`` as the service runs it (``screen``: the fraud watchlist's)."""
    return pipeline.enroll_use_case(
        engine, users=users, clock=clock, gate=quality_gate(settings), screen=screen
    )


def verify(
    settings: Settings,
    engine: Engine,
    *,
    users: UserRepository,
    attempts: AttemptLog,
    clock: Clock,
    plan: CapturePlan | None = None,
    screen: WatchlistScreen | None = None,
) -> Verify:
    """``Verify`` as the service runs it (``plan``: another capture plan than the settings';
    ``screen``: the fraud watchlist's; the caller's embedding is kept for
    ``VOICEAUTH_PROBE_RETENTION_DAYS``)."""
    return pipeline.verify_use_case(
        engine,
        users=users,
        attempts=attempts,
        clock=clock,
        gate=quality_gate(settings),
        plan=capture_plan(settings) if plan is None else plan,
        screen=screen,
        probe_retention=probe_retention(settings),
    )


# The spoken liveness challenge.


def challenge_rule(settings: Settings) -> ChallengeRule:
    """How challenges are made and answers judged (``VOICEAUTH_CHALLENGE_*``)."""
    return ChallengeRule(
        length=settings.challenge_digits,
        tolerance=settings.challenge_tolerance,
        ttl_s=settings.challenge_ttl,
        max_answer_delay_s=settings.challenge_max_answer_delay,
    )


def digit_recognizer(settings: Settings, *, threads: int | None = None) -> DigitRecognizer:
    """Whisper tiny.en, verified in the cache (never downloads: ``voiceauth model fetch``).

    Raises:
        ModelUnavailableError: Its files are missing or fail their SHA-256 check.
    """
    from voiceauth_adapters.whisper import WhisperDigitRecognizer, resolve_model  # noqa: PLC0415

    folder, _ = resolve_model(cache_dir=settings.cache_dir, allow_download=False)
    return WhisperDigitRecognizer.load(
        folder, threads=settings.inference_threads if threads is None else threads
    )


def challenge_store(database: Database) -> ChallengeStore:
    """The challenges over the shared database, so that any replica can redeem them."""
    return database.challenges()


def issue_challenge(
    settings: Settings, *, users: UserRepository, challenges: ChallengeStore, clock: Clock
) -> IssueChallenge:
    """``IssueChallenge`` as the service runs it."""
    return IssueChallenge(
        users=users, challenges=challenges, clock=clock, rule=challenge_rule(settings)
    )


def redeem_challenge(
    settings: Settings,
    *,
    challenges: ChallengeStore,
    recognizer: DigitRecognizer,
    clock: Clock,
) -> RedeemChallenge:
    """``RedeemChallenge`` as the service runs it."""
    return RedeemChallenge(
        challenges=challenges, recognizer=recognizer, clock=clock, rule=challenge_rule(settings)
    )


# Identification.


def voiceprint_index(model_id: str) -> MatrixVoiceprintIndex:
    """This replica's index of the enrolled voiceprints of ``model_id`` (empty until synced)."""
    from voiceauth_adapters.index import MatrixVoiceprintIndex  # noqa: PLC0415

    return MatrixVoiceprintIndex(model_id)


def events_transport(settings: Settings) -> str:
    """How the replicas' indexes hear of each other's changes: ``redis`` with ``REDIS_URL``,
    else ``postgres`` (LISTEN/NOTIFY) with ``DATABASE_URL``, else ``in-process`` (the embedded
    SQLite database: one replica)."""
    if settings.redis_url:
        return "redis"
    return "postgres" if settings.database_url else "in-process"


def voiceprint_events(settings: Settings, database: Database) -> VoiceprintEvents | None:
    """Voiceprint changes shared by the replicas (see :func:`events_transport`; ``database``
    publishes the Postgres notifications), or None in-process (one replica: its index follows
    its own enrolments, and the periodic re-sync what was changed outside the service).
    The choice is logged once."""
    from loguru import logger  # noqa: PLC0415

    transport = events_transport(settings)
    logger.bind(transport=transport).info("voiceprint index events: {}", transport)
    if settings.redis_url:
        from voiceauth_adapters.index.redis_events import RedisVoiceprintEvents  # noqa: PLC0415

        return RedisVoiceprintEvents(settings.redis_url)
    if settings.database_url:
        from voiceauth_adapters.postgres import PostgresDatabase  # noqa: PLC0415
        from voiceauth_adapters.postgres.voiceprint_events import (  # noqa: PLC0415
            PostgresVoiceprintEvents,
        )

        if isinstance(database, PostgresDatabase):
            return PostgresVoiceprintEvents(database, settings.database_url)
    return None


def open_set_rule(settings: Settings, model_id: str, *, path: Path | None = None) -> OpenSetRule:
    """The open-set decision of an identification: ``VOICE_THRESHOLD``,
    ``VOICEAUTH_IDENTIFY_MAX_FALSE_MATCH`` and the shipped impostor model of the calibrated
    scores (or the one at ``path``; the plain cosine policy keeps the rule's defaults).

    Raises:
        ModelMismatchError: The impostor model was fitted on another model's scores.
    """
    from voiceauth_core.identification import OpenSetRule  # noqa: PLC0415

    if settings.scoring == "cosine":
        return OpenSetRule(
            threshold=settings.voice_threshold, max_false_match=settings.identify_max_false_match
        )
    from voiceauth_adapters.index.open_set import load_open_set_rule  # noqa: PLC0415

    return load_open_set_rule(
        threshold=settings.voice_threshold,
        max_false_match=settings.identify_max_false_match,
        model_id=model_id,
        path=path,
    )


def identify(
    settings: Settings,
    engine: Engine,
    *,
    users: UserRepository,
    index: VoiceprintIndex,
    rule: OpenSetRule,
    screen: WatchlistScreen | None = None,
    plan: CapturePlan | None = None,
) -> Identify:
    """``Identify`` as the service runs it, deciding with ``rule`` (:func:`open_set_rule`, read
    once at start); ``plan``: another capture plan than the settings'."""
    return pipeline.identify_use_case(
        engine,
        users=users,
        index=index,
        rule=rule,
        gate=quality_gate(settings),
        plan=capture_plan(settings) if plan is None else plan,
        screen=screen,
    )


# Call sessions (passive verification of VAPI calls).


def decision_board(settings: Settings) -> DecisionBoard:
    """Where call sessions share their decisions: Redis with ``REDIS_URL``, else this process."""
    if settings.redis_url:
        from voiceauth_adapters.redis import RedisDecisionBoard  # noqa: PLC0415

        return RedisDecisionBoard(settings.redis_url, ttl_s=settings.vapi_session_idle * 2)
    from voiceauth_core.call_board import InMemoryDecisionBoard  # noqa: PLC0415

    return InMemoryDecisionBoard()


def call_session(
    settings: Settings,
    engine: Engine,
    *,
    users: UserRepository,
    attempts: AttemptLog,
    clock: Clock,
    source: AudioSource,
    call_id: str,
    on_result: Callable[[Claim, VerificationResult], Awaitable[None]],
    screen: WatchlistScreen | None = None,
) -> CallSession:
    """One call's session: ``verify`` over a per-call memory of the engine's detector, model
    and countermeasure, so that what was computed before a claim is not computed again
    (``screen``: the fraud watchlist's, which every verification passes)."""
    from voiceauth_core.call_memo import CallMemo  # noqa: PLC0415
    from voiceauth_core.call_session import CallSession  # noqa: PLC0415

    memo = CallMemo(
        detector=engine.detector,
        model=engine.model,
        spoof=engine.spoof,
        min_speech_s=settings.min_verify_speech,
    )
    remembering = dataclasses.replace(
        engine, detector=memo.detector, model=memo.model, spoof=memo.spoof
    )
    plan = capture_plan(settings)
    return CallSession(
        source=source,
        verify=verify(
            settings,
            remembering,
            users=users,
            attempts=attempts,
            clock=clock,
            plan=plan,
            screen=screen,
        ),
        memo=memo,
        plan=plan,
        correlation_id=call_id,
        on_result=on_result,
    )
