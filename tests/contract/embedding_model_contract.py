"""The contract every EmbeddingModel passes: the fake and the real ECAPA-TDNN adapter.

Subclass :class:`EmbeddingModelContract` and provide fixtures ``model`` and three recordings at
16 kHz: ``voice_a1`` and ``voice_a2`` of one speaker, ``voice_b`` of another.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from voiceauth_core import CANONICAL_RATE, Audio, AudioProcessingError
from voiceauth_core.ports import EmbeddingModel


class EmbeddingModelContract:
    """Behaviour every speaker-embedding model must show."""

    def test_is_an_embedding_model(self, model: EmbeddingModel) -> None:
        assert isinstance(model, EmbeddingModel)
        assert model.model_id

    async def test_embedding_is_unit_length_and_tagged(
        self, model: EmbeddingModel, voice_a1: Audio
    ) -> None:
        embedding = await model.embed(voice_a1)
        assert np.linalg.norm(embedding.vector) == pytest.approx(1.0, abs=1e-6)
        assert embedding.model_id == model.model_id
        assert embedding.dimension >= 16

    async def test_same_audio_gives_the_same_embedding(
        self, model: EmbeddingModel, voice_a1: Audio
    ) -> None:
        first, second = await model.embed(voice_a1), await model.embed(voice_a1)
        assert first.cosine(second) == pytest.approx(1.0, abs=1e-5)

    async def test_same_speaker_scores_above_other_speaker(
        self, model: EmbeddingModel, voice_a1: Audio, voice_a2: Audio, voice_b: Audio
    ) -> None:
        a1, a2, b = [await model.embed(v) for v in (voice_a1, voice_a2, voice_b)]
        assert a1.cosine(a2) > a1.cosine(b) + 0.2
        assert a1.cosine(a2) > a2.cosine(b) + 0.2

    async def test_concurrent_calls_agree_with_single_calls(
        self, model: EmbeddingModel, voice_a1: Audio, voice_b: Audio
    ) -> None:
        alone = [await model.embed(v) for v in (voice_a1, voice_b)]
        together = await asyncio.gather(*(model.embed(v) for v in (voice_a1, voice_b)))
        for single, concurrent in zip(alone, together, strict=True):
            assert single.cosine(concurrent) == pytest.approx(1.0, abs=1e-4)

    async def test_other_sample_rate_is_refused(
        self, model: EmbeddingModel, voice_a1: Audio
    ) -> None:
        eight_k = Audio(samples=voice_a1.samples[::2], sample_rate=CANONICAL_RATE // 2)
        with pytest.raises(AudioProcessingError):
            await model.embed(eight_k)

    async def test_empty_audio_is_refused(self, model: EmbeddingModel) -> None:
        with pytest.raises(AudioProcessingError):
            await model.embed(Audio(samples=np.zeros(0, np.float32), sample_rate=CANONICAL_RATE))
