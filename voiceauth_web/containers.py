"""The composition root: the only module that imports ``dependency_injector``.

Three containers, split by layer and joined by ``Container``:

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
from typing import Any

from dependency_injector import containers, providers

from voiceauth_core import (
    AuthHistory,
    CapturePlan,
    CosinePolicy,
    DeleteUser,
    Enroll,
    GetUser,
    ListUsers,
    QualityGate,
    RecentAttempts,
    SystemClock,
    Verify,
)
from voiceauth_core.ports import EmbeddingModel, ScoringPolicy
from voiceauth_web.instrumented import InstrumentedAttempts, InstrumentedModel, InstrumentedUsers
from voiceauth_web.observability import Metrics
from voiceauth_web.settings import Settings

__all__ = ["Adapters", "Container", "UseCases", "build_container", "check_database"]


def _database(settings: Settings) -> Any:
    from voiceauth_web.commands.db import build_database  # noqa: PLC0415

    return build_database(settings)


def _cipher(settings: Settings) -> Any:
    from voiceauth_web.commands.db import build_cipher  # noqa: PLC0415

    return build_cipher(settings)


def _stores(database: Any, cipher: Any) -> Any:
    from voiceauth_web.commands.db import build_stores  # noqa: PLC0415

    return build_stores(database, cipher)


async def _schema_check(database: Any) -> None:
    from voiceauth_web.commands.db import check_schema  # noqa: PLC0415

    await check_schema(database)


def _template_check(cipher: Any) -> Callable[[Any], Awaitable[Any]]:
    """The start-up check that every sealed voiceprint opens with this configuration's keys."""
    from voiceauth_web.commands.db import check_templates  # noqa: PLC0415

    async def check(database: Any) -> Any:
        return await check_templates(database, cipher)

    return check


def _model(settings: Settings) -> EmbeddingModel:
    from voiceauth_adapters.speechbrain import resolve_model  # noqa: PLC0415

    # Never downloads at start-up: `voiceauth model fetch` (or the image build) did that.
    resolved = resolve_model(
        model_dir=settings.model_dir, cache_dir=settings.cache_dir, allow_download=False
    )
    from voiceauth_adapters.inference import BoundedInferencePool, load_embedder  # noqa: PLC0415

    model = load_embedder(
        settings.inference_backend,
        resolved.directory,
        cache_dir=settings.cache_dir,
        threads=settings.inference_threads,
    )
    return BoundedInferencePool(
        model, workers=settings.inference_workers, queue_timeout=settings.inference_queue_timeout
    )


def _detector() -> Any:
    from voiceauth_adapters.vad import SileroSpeechDetector  # noqa: PLC0415

    return SileroSpeechDetector()


def _telephone() -> Any:
    from voiceauth_adapters.audio import G711Line  # noqa: PLC0415

    return G711Line()


def _decoder(settings: Settings) -> Any:
    from voiceauth_adapters.audio import AudioDecoderLimits, FfmpegSoundfileDecoder  # noqa: PLC0415

    limits = AudioDecoderLimits(
        max_bytes=settings.max_upload_bytes, max_seconds=settings.max_audio_duration
    )
    return FfmpegSoundfileDecoder(limits)


def _downloader(settings: Settings) -> Any:
    from voiceauth_adapters.http import AddressPolicy, HttpDownloader  # noqa: PLC0415

    return HttpDownloader(
        max_bytes=settings.max_upload_bytes,
        timeout_s=settings.download_timeout,
        policy=AddressPolicy.build(allow_private_networks=settings.allow_private_networks),
    )


def _sources(downloader: Any, decoder: Any, settings: Settings) -> Any:
    from voiceauth_adapters.http import AudioSourceFactory  # noqa: PLC0415

    return AudioSourceFactory(
        downloader=downloader, decoder=decoder, max_upload_bytes=settings.max_upload_bytes
    )


def _listener(settings: Settings) -> Any:
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


def _policy(settings: Settings, model: EmbeddingModel) -> ScoringPolicy:
    if settings.scoring == "cosine":
        return CosinePolicy(threshold=settings.voice_threshold)
    from voiceauth_adapters.cohort import load_calibrated_policy  # noqa: PLC0415

    return load_calibrated_policy(threshold=settings.voice_threshold, model_id=model.model_id)


def _limiter(settings: Settings) -> Any:
    from voiceauth_web.security import InMemoryRateLimiter, RedisRateLimiter  # noqa: PLC0415

    if settings.rate_limit_per_minute == 0:
        return None
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, settings.rate_limit_per_minute)
    return InMemoryRateLimiter(settings.rate_limit_per_minute)


class Adapters(containers.DeclarativeContainer):
    """The real adapters, built from the settings; singletons for the process."""

    settings = providers.Dependency(instance_of=Settings)
    metrics = providers.Dependency(instance_of=Metrics)

    database = providers.Singleton(_database, settings)
    schema_check = providers.Object(_schema_check)
    # None without VOICEAUTH_TEMPLATE_KEY: the stores then keep voiceprints in the clear.
    cipher = providers.Singleton(_cipher, settings)
    template_check = providers.Singleton(_template_check, cipher)
    stores = providers.Singleton(_stores, database, cipher)
    raw_users = providers.Singleton(lambda stores: stores[0], stores)
    raw_attempts = providers.Singleton(lambda stores: stores[1], stores)
    users = providers.Singleton(InstrumentedUsers, raw_users, metrics)
    attempts = providers.Singleton(InstrumentedAttempts, raw_attempts, metrics)

    raw_model = providers.Singleton(_model, settings)
    model = providers.Singleton(InstrumentedModel, raw_model, metrics)
    detector = providers.Singleton(_detector)
    telephone = providers.Singleton(_telephone)
    decoder = providers.Singleton(_decoder, settings)
    downloader = providers.Singleton(_downloader, settings)
    sources = providers.Singleton(_sources, downloader, decoder, settings)
    listener = providers.Singleton(_listener, settings)
    policy = providers.Singleton(_policy, settings, raw_model)
    clock = providers.Singleton(SystemClock)
    limiter = providers.Singleton(_limiter, settings)


class UseCases(containers.DeclarativeContainer):
    """The core's use cases over the adapters."""

    settings = providers.Dependency(instance_of=Settings)
    adapters = providers.DependenciesContainer()

    gate = providers.Singleton(
        lambda s: QualityGate(
            max_duration_s=s.max_audio_duration,
            min_enroll_speech_s=s.min_enroll_speech,
            strong_enroll_speech_s=s.strong_enroll_speech,
            min_verify_speech_s=s.min_verify_speech,
        ),
        settings,
    )
    plan = providers.Singleton(
        lambda s: CapturePlan(
            max_audio_s=s.max_audio_duration, target_speech_s=s.target_verify_speech
        ),
        settings,
    )
    tool_plan = providers.Singleton(
        lambda s: CapturePlan(
            max_audio_s=min(s.tool_max_capture, s.max_audio_duration),
            target_speech_s=s.target_verify_speech,
        ),
        settings,
    )
    enroll = providers.Factory(
        Enroll,
        model=adapters.model,
        detector=adapters.detector,
        users=adapters.users,
        clock=adapters.clock,
        gate=gate,
        telephone=adapters.telephone,
    )
    verify = providers.Factory(
        Verify,
        model=adapters.model,
        detector=adapters.detector,
        users=adapters.users,
        attempts=adapters.attempts,
        policy=adapters.policy,
        clock=adapters.clock,
        gate=gate,
        plan=plan,
    )
    history = providers.Factory(AuthHistory, users=adapters.users, attempts=adapters.attempts)
    get_user = providers.Factory(GetUser, users=adapters.users)
    list_users = providers.Factory(ListUsers, users=adapters.users)
    delete_user = providers.Factory(DeleteUser, users=adapters.users)
    recent = providers.Factory(RecentAttempts, attempts=adapters.attempts)


class Container(containers.DeclarativeContainer):
    """Everything the web shell needs."""

    settings = providers.Dependency(instance_of=Settings)
    metrics = providers.Singleton(Metrics)
    adapters = providers.Container(Adapters, settings=settings, metrics=metrics)
    use_cases = providers.Container(UseCases, settings=settings, adapters=adapters)


async def check_database(adapters: Any, database: Any) -> bool:
    """The start-up checks of an opened database, as ``serve`` and the commands that touch
    voiceprints run them: the schema, then that every sealed voiceprint opens.

    Args:
        adapters: A container's ``Adapters`` (tests override the checks with fakes).
        database: The opened database.

    Returns:
        True when no template key is configured (voiceprints are written in the clear), for the
        caller to warn about in its own way.

    Raises:
        SchemaVersionError: The database is behind or ahead of the code.
        TemplateProtectionError: Sealed voiceprints this configuration cannot open.
    """
    await adapters.schema_check()(database)
    await adapters.template_check()(database)
    return adapters.cipher() is None


def build_container(settings: Settings) -> Container:
    """A container for ``settings`` (nothing is built until asked for)."""
    return Container(settings=providers.Object(settings))
