# ruff: noqa: PLC0415
"""``voiceauth cohort build``: embed a corpus into a score cohort file.

Each clip's halves are embedded wide-band and over the phone line, with the service's own
decoder, speech detector, model and line, built by the composition root. Heavy modules are
imported inside the command so ``voiceauth --help`` stays fast (PLC0415).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from voiceauth_web import wiring
from voiceauth_web.commands import Subcommands, corpus
from voiceauth_web.settings import Settings

__all__ = ["register"]


def register(actions: Subcommands) -> None:
    """Add ``build`` to the ``cohort`` actions."""
    build = actions.add_parser(
        "build",
        help="embed a corpus (each clip's halves, wide-band and phone-band) into a cohort file",
    )
    corpus.add_corpus_arguments(build, protocol=False)
    build.add_argument("--out", type=Path, required=True, help="the cohort file to write (.npz)")
    build.set_defaults(func=_run_cohort_build)


def _run_cohort_build(args: argparse.Namespace) -> int:
    from voiceauth_adapters.cohort import write_cohort_file
    from voiceauth_adapters.evaluation.cohort import embed_cohort
    from voiceauth_adapters.evaluation.corpus import read_corpus
    from voiceauth_core.errors import VoiceAuthError

    settings = Settings.from_env()
    try:
        clips = read_corpus(
            args.corpus,
            pattern=args.pattern,
            speakers=args.speakers,
            limit_speakers=args.limit_speakers,
        )
        parts = corpus.parts(args, settings)
    except VoiceAuthError as exc:
        print(f"voiceauth cohort build: {exc.message}", file=sys.stderr)
        return 2
    update, close = corpus.progress(len(clips), "cohort", quiet=args.quiet)
    try:
        cohort = asyncio.run(
            embed_cohort(
                clips,
                decoder=parts.decoder,
                detector=parts.detector,
                model=parts.model,
                telephone=wiring.telephone_line(),
                min_speech_s=settings.min_verify_speech,
                progress=update,
            )
        )
    finally:
        close()
        parts.model.save()
    write_cohort_file(cohort, args.out)
    print(
        f"cohort: {len(cohort.bands)} embeddings of {len(set(cohort.speakers))} speakers "
        f"({cohort.bands.count('wide')} wide-band, {cohort.bands.count('phone')} phone-band) "
        f"-> {args.out}"
    )
    return 0
