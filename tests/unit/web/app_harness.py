"""The real app over the core's fakes: the same container, adapters overridden (unit tier)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from dependency_injector import providers

from voiceauth_core import CosinePolicy
from voiceauth_core.testing import (
    EnergySpeechDetector,
    InMemoryAttemptLog,
    InMemoryChallengeStore,
    InMemoryStore,
    InMemoryUserRepository,
    InMemoryWatchlist,
    ManualClock,
    SpectralEmbeddingModel,
    ToneDigitRecognizer,
    WaveDecoder,
)
from voiceauth_core.testing.spoofing import SpectralFluxSpoofDetector
from voiceauth_web.app import create_app
from voiceauth_web.containers import Container, build_container
from voiceauth_web.settings import Settings


class NoDatabase:
    """Stands in for the database resource when the stores are in memory."""

    opened = False

    async def open(self) -> None:
        self.opened = True

    async def close(self) -> None:
        self.opened = False


async def _schema_ok(database: Any) -> None:
    del database


def fake_container(tmp_path: Path, **overrides: Any) -> Container:
    """A container whose model, detectors, decoder, stores and policy are the core's fakes."""
    settings = dataclasses.replace(
        Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache"),
        allow_private_networks=True,
        min_enroll_speech=2.0,
        scoring="cosine",
        **overrides,
    )
    container = build_container(settings)
    store = InMemoryStore()
    adapters = container.adapters
    adapters.database.override(providers.Object(NoDatabase()))
    adapters.schema_check.override(providers.Object(_schema_ok))
    adapters.template_check.override(providers.Object(_schema_ok))
    adapters.raw_users.override(providers.Object(InMemoryUserRepository(store)))
    adapters.raw_attempts.override(providers.Object(InMemoryAttemptLog(store)))
    adapters.watchlist.override(providers.Object(InMemoryWatchlist(store)))
    adapters.raw_model.override(providers.Object(SpectralEmbeddingModel()))
    adapters.detector.override(providers.Object(EnergySpeechDetector()))
    adapters.spoof.override(providers.Object(SpectralFluxSpoofDetector()))
    adapters.decoder.override(providers.Object(WaveDecoder()))
    adapters.policy.override(providers.Object(CosinePolicy(threshold=settings.voice_threshold)))
    adapters.clock.override(providers.Object(ManualClock()))
    adapters.challenges.override(providers.Object(InMemoryChallengeStore(store)))
    adapters.recognizer.override(providers.Object(ToneDigitRecognizer()))
    return container


def fake_app(tmp_path: Path, **overrides: Any) -> Any:
    """``create_app`` over :func:`fake_container`."""
    return create_app(fake_container(tmp_path, **overrides))
