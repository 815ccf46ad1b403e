"""Embedding a corpus into a score cohort: each clip's halves, wide-band and over the phone line."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import numpy as np

from voiceauth_adapters.cohort import CohortFile
from voiceauth_adapters.evaluation.corpus import Clip
from voiceauth_core.ports import AudioDecoder, EmbeddingModel, SpeechDetector, TelephoneChannel

__all__ = ["BANDS", "embed_cohort"]

#: What each half of a clip is heard through: as recorded, and over the simulated phone line.
BANDS = ("wide", "phone")


async def embed_cohort(
    clips: Sequence[Clip],
    *,
    decoder: AudioDecoder,
    detector: SpeechDetector,
    model: EmbeddingModel,
    telephone: TelephoneChannel,
    min_speech_s: float,
    progress: Callable[[int], None] | None = None,
) -> CohortFile:
    """The cohort of ``clips``: each half of each clip, in each band, embedded.

    Each half is heard wide-band and through ``telephone`` (the line enrolments are also heard
    through), trimmed to its speech, and embedded when it holds at least ``min_speech_s`` of
    speech (the service's minimum for a verification).

    Args:
        clips: The cohort speakers' recordings.
        decoder: Turns files into 16 kHz audio.
        detector: Finds speech.
        model: Embeds speech.
        telephone: The simulated phone line of the ``phone`` band.
        min_speech_s: Halves with less speech are left out.
        progress: Called with 1 after each clip.

    Raises:
        VoiceAuthError: A file cannot be decoded, or the model fails.
    """
    rows: list[np.ndarray] = []
    speakers: list[str] = []
    bands: list[str] = []
    for clip in clips:
        audio = await decoder.decode(await asyncio.to_thread(clip.path.read_bytes))
        middle = audio.duration / 2
        for half in (audio.slice(0, middle), audio.slice(middle)):
            for band in BANDS:
                heard = await telephone.transmit(half) if band == "phone" else half
                speech = await detector.speech(heard)
                if speech.duration < min_speech_s:
                    continue
                rows.append((await model.embed(speech)).vector)
                speakers.append(clip.speaker)
                bands.append(band)
        if progress is not None:
            progress(1)
    return CohortFile(
        embeddings=np.array(rows, dtype=np.float32),
        speakers=tuple(speakers),
        bands=tuple(bands),
        model_id=model.model_id,
    )
