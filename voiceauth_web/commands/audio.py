"""``voiceauth embed FILE`` and ``voiceauth compare A B``, through the service's own pipeline."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from voiceauth_web.settings import Settings

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``embed`` and ``compare`` commands."""
    embed = subparsers.add_parser("embed", help="net speech and embedding of an audio file")
    embed.add_argument("file", type=Path)
    embed.set_defaults(func=_embed)
    compare = subparsers.add_parser("compare", help="similarity of the voices in two files")
    compare.add_argument("first", type=Path)
    compare.add_argument("second", type=Path)
    compare.set_defaults(func=_compare)


def _pipeline() -> Any:
    from voiceauth_adapters.pipeline import local_pipeline  # noqa: PLC0415

    settings = Settings.from_env()
    return local_pipeline(
        model_dir=settings.model_dir,
        cache_dir=settings.cache_dir,
        threshold=settings.voice_threshold,
        threads=settings.inference_threads,
        max_seconds=settings.max_audio_duration,
    )


async def _speech_embedding(pipeline: Any, path: Path) -> tuple[float, float, Any]:
    audio = await pipeline.file(path).fetch()
    speech = await pipeline.detector.speech(audio)
    return audio.duration, speech.duration, await pipeline.model.embed(speech)


def _embed(args: argparse.Namespace) -> int:
    from voiceauth_core import VoiceAuthError  # noqa: PLC0415

    pipeline = _pipeline()
    try:
        duration, speech, embedding = asyncio.run(_speech_embedding(pipeline, args.file))
    except VoiceAuthError as exc:
        print(f"voiceauth: {exc.name}: {exc.message}", file=sys.stderr)
        return 1
    first = ", ".join(f"{value:+.4f}" for value in embedding.vector[:8])
    print(f"file: {args.file} ({duration:.2f} s, net speech {speech:.2f} s)")
    print(f"model: {embedding.model_id}")
    print(f"embedding ({embedding.dimension} values): [{first}, ...]")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from voiceauth_core import VoiceAuthError  # noqa: PLC0415

    pipeline = _pipeline()

    async def both() -> tuple[Any, Any]:
        return (
            await _speech_embedding(pipeline, args.first),
            await _speech_embedding(pipeline, args.second),
        )

    try:
        (_, speech_a, first), (_, speech_b, second) = asyncio.run(both())
    except VoiceAuthError as exc:
        print(f"voiceauth: {exc.name}: {exc.message}", file=sys.stderr)
        return 1
    print(f"net speech: {speech_a:.2f} s and {speech_b:.2f} s")
    print(f"cosine similarity: {first.cosine(second):.4f}")
    return 0
