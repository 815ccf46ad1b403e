"""``voiceauth embed FILE`` and ``voiceauth compare A B``: the service's decoder, VAD and model.

Each file is decoded as an upload would be (its content type guessed from the name, or given
with ``--content-type`` for raw audio), checked by the quality gate, trimmed to its speech by the
voice-activity detector and embedded by the verified ECAPA-TDNN model on the service's backend
(``VOICEAUTH_INFERENCE``), all built by the composition root. Nothing touches a network.
"""

from __future__ import annotations

import argparse
import asyncio
import mimetypes
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from voiceauth_web.commands import Subcommands
from voiceauth_web.settings import Settings

if TYPE_CHECKING:
    from voiceauth_core.embedding import Embedding

__all__ = ["register"]

_SHOWN_VALUES = 8


def register(subparsers: Subcommands) -> None:
    """Add the ``embed`` and ``compare`` commands."""
    embed = subparsers.add_parser("embed", help="net speech and speaker embedding of an audio file")
    embed.add_argument("file", type=Path, help="WAV, FLAC, OGG/Opus, MP3, M4A/AAC, WebM, raw")
    _common(embed)
    embed.set_defaults(func=_embed)
    compare = subparsers.add_parser(
        "compare", help="cosine similarity of the voices in two audio files"
    )
    compare.add_argument("first", type=Path)
    compare.add_argument("second", type=Path)
    _common(compare)
    compare.set_defaults(func=_compare)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--content-type",
        default=None,
        help="the files' type when the name does not tell, e.g. 'audio/pcm;rate=16000' or "
        "'audio/basic' (mu-law, 8 kHz)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="inference threads (VOICEAUTH_INFERENCE_THREADS)"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Heard:
    seconds: float
    speech_seconds: float
    embedding: Embedding


class _Pipeline:
    """The service's decoder, quality gate, speech detector and model, loaded once."""

    def __init__(self, settings: Settings, threads: int | None) -> None:
        from voiceauth_web import wiring  # noqa: PLC0415

        self.model = wiring.embedding_model(settings, threads=threads)
        self.detector = wiring.speech_detector()
        self.decoder = wiring.audio_decoder(settings)
        self.gate = wiring.quality_gate(settings)

    async def hear(self, path: Path, content_type: str | None) -> _Heard:
        from voiceauth_core.errors import AudioProcessingError  # noqa: PLC0415

        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise AudioProcessingError(f"cannot read {path}", reason="unreadable") from exc
        guessed, _ = mimetypes.guess_type(path.name)
        audio = await self.decoder.decode(data, content_type=content_type or guessed)
        self.gate.check_recording(audio)
        speech = await self.detector.speech(audio)
        if speech.duration == 0.0:
            raise AudioProcessingError(f"no speech was found in {path}", reason="no_speech")
        embedding = await self.model.embed(speech)
        return _Heard(seconds=audio.duration, speech_seconds=speech.duration, embedding=embedding)

    def close(self) -> None:
        self.model.close()


def _run(args: argparse.Namespace, paths: list[Path]) -> list[_Heard] | None:
    from voiceauth_adapters.speechbrain import ModelUnavailableError  # noqa: PLC0415
    from voiceauth_core.errors import VoiceAuthError  # noqa: PLC0415

    try:
        pipeline = _Pipeline(Settings.from_env(), args.threads)
    except ModelUnavailableError as exc:
        print(f"voiceauth: {exc}", file=sys.stderr)
        return None

    async def hear_all() -> list[_Heard]:
        return [await pipeline.hear(path, args.content_type) for path in paths]

    try:
        return asyncio.run(hear_all())
    except VoiceAuthError as exc:
        print(f"voiceauth: {exc.name}: {exc.message}", file=sys.stderr)
        return None
    finally:
        pipeline.close()


def _embed(args: argparse.Namespace) -> int:
    heard = _run(args, [args.file])
    if heard is None:
        return 1
    (result,) = heard
    values = ", ".join(f"{v:+.4f}" for v in result.embedding.vector[:_SHOWN_VALUES])
    print(f"file: {args.file} ({result.seconds:.2f} s)")
    print(f"net speech: {result.speech_seconds:.2f} s")
    print(f"model: {result.embedding.model_id}")
    print(f"embedding ({result.embedding.dimension} values, unit length): [{values}, ...]")
    return 0


def _compare(args: argparse.Namespace) -> int:
    heard = _run(args, [args.first, args.second])
    if heard is None:
        return 1
    for path, result in zip((args.first, args.second), heard, strict=True):
        print(f"{path}: {result.seconds:.2f} s, net speech {result.speech_seconds:.2f} s")
    similarity = heard[0].embedding.cosine(heard[1].embedding)
    print(f"cosine similarity: {similarity:.4f} (raw, before score calibration)")
    return 0
