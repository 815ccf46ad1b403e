"""Work done on a call's audio before anyone asks, remembered for the verification that follows.

Before the account is known, a passive call session finds and embeds the caller's speech (and
assesses its spoofing) as the call goes on. ``CallMemo`` wraps the detector, the model and the
countermeasure of that call's ``Verify``: when the verification later hears exactly the audio
that was warmed, each step is answered from memory instead of being computed again. The memory
holds a few results of the latest audio only, and is dropped with the call.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from voiceauth_core.audio import Audio
from voiceauth_core.embedding import Embedding
from voiceauth_core.ports import EmbeddingModel, SpeechDetector, SpoofDetector
from voiceauth_core.spoofing import SpoofAssessment

__all__ = ["CallMemo"]

T = TypeVar("T")
_KEEP = 3  # results of the latest audio only: a warm step, and the one before


def _key(audio: Audio) -> bytes:
    digest = hashlib.blake2b(audio.samples.tobytes(), digest_size=16)
    digest.update(audio.sample_rate.to_bytes(4, "little"))
    return digest.digest()


class _Recent(Generic[T]):
    """A few results by audio content, oldest dropped first; one computation per content, even
    when a warm step and a verification ask for it at the same time."""

    def __init__(self) -> None:
        self._items: OrderedDict[bytes, asyncio.Future[T]] = OrderedDict()
        self.hits = 0

    async def get(self, audio: Audio, compute: Callable[[Audio], Awaitable[T]]) -> T:
        key = _key(audio)
        found = self._items.get(key)
        if found is not None and not (found.done() and found.exception() is not None):
            self.hits += 1
            return await asyncio.shield(found)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._items[key] = future
        while len(self._items) > _KEEP:
            self._items.popitem(last=False)
        try:
            value = await compute(audio)
        except BaseException as exc:
            self._items.pop(key, None)
            future.set_exception(exc)
            future.exception()  # retrieved: a failure is re-raised to its own caller only
            raise
        future.set_result(value)
        return value

    def clear(self) -> None:
        self._items.clear()


class _Detector:
    def __init__(self, inner: SpeechDetector, memo: _Recent[Audio]) -> None:
        self._inner, self._memo = inner, memo

    async def speech(self, audio: Audio) -> Audio:
        return await self._memo.get(audio, self._inner.speech)


class _Model:
    def __init__(self, inner: EmbeddingModel, memo: _Recent[Embedding]) -> None:
        self._inner, self._memo = inner, memo

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    async def embed(self, audio: Audio) -> Embedding:
        return await self._memo.get(audio, self._inner.embed)


class _Spoof:
    def __init__(self, inner: SpoofDetector, memo: _Recent[SpoofAssessment]) -> None:
        self._inner, self._memo = inner, memo

    @property
    def detector_id(self) -> str:
        return self._inner.detector_id

    async def assess(self, speech: Audio) -> SpoofAssessment:
        return await self._memo.get(speech, self._inner.assess)


class CallMemo:
    """Remembers, for one call, the speech, embedding and spoof assessment of the latest audio.

    Build the call's ``Verify`` over :attr:`detector`, :attr:`model` and :attr:`spoof`; call
    :meth:`warm` with the audio heard so far while nobody waits.

    Args:
        detector: The real speech detector.
        model: The real embedding model.
        spoof: The real countermeasure (None: no spoof check).
        min_speech_s: Speech below this is not embedded (``MIN_VERIFY_SPEECH``).
    """

    def __init__(
        self,
        *,
        detector: SpeechDetector,
        model: EmbeddingModel,
        spoof: SpoofDetector | None,
        min_speech_s: float,
    ) -> None:
        self._speech: _Recent[Audio] = _Recent()
        self._embeddings: _Recent[Embedding] = _Recent()
        self._assessments: _Recent[SpoofAssessment] = _Recent()
        self.detector: SpeechDetector = _Detector(detector, self._speech)
        self.model: EmbeddingModel = _Model(model, self._embeddings)
        self.spoof: SpoofDetector | None = (
            None if spoof is None else _Spoof(spoof, self._assessments)
        )
        self._min_speech_s = min_speech_s

    @property
    def hits(self) -> int:
        """How many steps were answered from memory (speech, embeddings, assessments)."""
        return self._speech.hits + self._embeddings.hits + self._assessments.hits

    async def warm(self, audio: Audio, *, assess: bool) -> float:
        """Find and embed the speech of ``audio`` (and assess it if ``assess``) ahead of time.

        Returns:
            The seconds of speech found.
        """
        speech = await self.detector.speech(audio)
        if speech.duration >= self._min_speech_s:
            await self.model.embed(speech)
            if assess and self.spoof is not None:
                await self.spoof.assess(speech)
        return speech.duration

    def forget(self) -> None:
        """Drop everything remembered (the call is over)."""
        self._speech.clear()
        self._embeddings.clear()
        self._assessments.clear()
