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

from typing import TYPE_CHECKING

from voiceauth_adapters import pipeline
from voiceauth_adapters.pipeline import Engine
from voiceauth_core.quality import QualityGate
from voiceauth_core.spoof_gate import SpoofGate
from voiceauth_core.use_cases import CapturePlan, Enroll, Verify
from voiceauth_web.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from voiceauth_adapters.audio import FfmpegSoundfileDecoder
    from voiceauth_adapters.http import AudioSourceFactory, HttpDownloader
    from voiceauth_adapters.inference import BoundedInferencePool
    from voiceauth_adapters.sealing.cipher import TemplateCipher
    from voiceauth_adapters.sql import Database
    from voiceauth_adapters.vapi import VapiListener
    from voiceauth_core.ports import (
        AttemptLog,
        Clock,
        EmbeddingModel,
        ScoringPolicy,
        SpeechDetector,
        SpoofDetector,
        TelephoneChannel,
        UserRepository,
    )
    from voiceauth_web.security import RateLimiter

__all__ = [
    "Engine",
    "audio_decoder",
    "audio_sources",
    "capture_plan",
    "database",
    "downloader",
    "embedding_model",
    "engine",
    "enroll",
    "listener",
    "quality_gate",
    "rate_limiter",
    "scoring_policy",
    "speech_detector",
    "spoof_detector",
    "spoof_gate",
    "stores",
    "telephone_line",
    "template_cipher",
    "tool_plan",
    "verify",
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
    )


def speech_detector() -> SpeechDetector:
    """The speech detector (Silero VAD)."""
    return pipeline.speech_detector()


def telephone_line() -> TelephoneChannel:
    """The simulated G.711 line enrolments are also heard through."""
    return pipeline.telephone_line()


def spoof_detector(settings: Settings) -> SpoofDetector | None:
    """The synthetic-speech countermeasure, or None with ``VOICEAUTH_SPOOF_CHECK=0``.

    Raises:
        ModelUnavailableError: Its weights or calibration are missing (``voiceauth model fetch``).
    """
    if not settings.spoof_check:
        return None
    return pipeline.spoof_detector(cache_dir=settings.cache_dir)


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


def listener(settings: Settings) -> VapiListener:
    """The VAPI listen-socket client (customer channel, bounded capture)."""
    from voiceauth_adapters.vapi import PcmFormat, VapiListener  # noqa: PLC0415

    return VapiListener(
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


def enroll(settings: Settings, engine: Engine, *, users: UserRepository, clock: Clock) -> Enroll:
    """``Enroll`` as the service runs it."""
    return pipeline.enroll_use_case(engine, users=users, clock=clock, gate=quality_gate(settings))


def verify(
    settings: Settings,
    engine: Engine,
    *,
    users: UserRepository,
    attempts: AttemptLog,
    clock: Clock,
    plan: CapturePlan | None = None,
) -> Verify:
    """``Verify`` as the service runs it (``plan``: another capture plan than the settings')."""
    return pipeline.verify_use_case(
        engine,
        users=users,
        attempts=attempts,
        clock=clock,
        gate=quality_gate(settings),
        plan=capture_plan(settings) if plan is None else plan,
    )
