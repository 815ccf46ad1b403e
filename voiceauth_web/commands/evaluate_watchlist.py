# ruff: noqa: PLC0415
"""``voiceauth eval --watchlist``: the fraud watchlist's hit and false-hit rates on a corpus.

The speakers chosen (``--watchlist-speakers``, by default the evaluation split ``.*[7-9]``,
never used for the cohort or the calibration) are dealt into two folds; each fold's half is put
on a watchlist from one utterance each (the enrolment half, as recorded) through the service's
``AddToWatchlist``, and every speaker's held-out half is screened through the service's
``WatchlistScreen`` at ``VOICEAUTH_WATCHLIST_THRESHOLD`` (or ``--threshold``), clean and over
the phone channel (see :mod:`voiceauth_adapters.evaluation.watchlist`). Heavy modules are
imported inside the command so ``voiceauth --help`` stays fast (PLC0415).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time

from voiceauth_web import wiring
from voiceauth_web.commands import corpus
from voiceauth_web.settings import Settings

__all__ = ["add_arguments", "run"]

#: The other thresholds the report gives the rates at.
SWEEP = (0.82, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--watchlist`` and its options, on ``voiceauth eval``."""
    group = parser.add_argument_group(
        "fraud watchlist (--watchlist)",
        "measure the watchlist screen: hits on listed voices, false hits on the others",
    )
    group.add_argument(
        "--watchlist", action="store_true", help="evaluate the fraud watchlist screen"
    )
    group.add_argument(
        "--watchlist-speakers",
        default=r".*[7-9]",
        metavar="REGEX",
        help="speakers listed and screened (default '.*[7-9]', the evaluation split)",
    )
    group.add_argument(
        "--watchlist-channels",
        default="clean,phone",
        help="channels the calls are heard through, comma-separated (default clean,phone)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``voiceauth eval --watchlist``; the exit status."""
    from voiceauth_adapters.evaluation.report import write_json
    from voiceauth_adapters.evaluation.runner import CHANNELS, Condition, Evaluator
    from voiceauth_adapters.evaluation.watchlist import (
        WatchlistRun,
        calls_json,
        summarise_watchlist,
        watchlist_lines,
    )
    from voiceauth_core.errors import VoiceAuthError

    settings = Settings.from_env()
    threshold = settings.watchlist_threshold if args.threshold is None else args.threshold
    channels = [c.strip() for c in args.watchlist_channels.split(",") if c.strip()]
    if not channels or any(c not in CHANNELS for c in channels):
        print(f"voiceauth eval: channels are among {', '.join(CHANNELS)}", file=sys.stderr)
        return 2
    try:
        chosen = re.compile(args.watchlist_speakers)
        enrollments, tests = corpus.segments(args)
        parts = corpus.parts(args, settings)
        policy = wiring.scoring_policy(settings, parts.model.model_id)
    except (VoiceAuthError, re.error) as exc:
        print(f"voiceauth eval: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    entries = [s for s in enrollments if chosen.fullmatch(s.speaker)]
    calls = [s for s in tests if chosen.fullmatch(s.speaker)]
    gate = wiring.quality_gate(settings)
    engine = corpus.engine(parts, policy, settings)
    evaluator = Evaluator(
        engine=engine,
        decoder=parts.decoder,
        gate=gate,
        plan=wiring.capture_plan(settings),
        condition=Condition(),
    )
    measured = WatchlistRun(evaluator=evaluator, engine=engine, gate=gate, threshold=threshold)
    started = time.monotonic()
    total = len(entries) + 2 * len(calls) * len(channels)
    update, close = corpus.progress(total, "watchlist", quiet=args.quiet)
    try:
        results = asyncio.run(measured.run(entries, calls, channels=channels, update=update))
    finally:
        close()
        parts.model.save()
    summary = summarise_watchlist(results, threshold=threshold, sweep=SWEEP)
    report = {
        "source": {
            "tool": "voiceauth eval --watchlist",
            "corpus": str(args.corpus),
            "pattern": args.pattern,
            "watchlist_speakers": args.watchlist_speakers,
            "protocol": "two folds: half the speakers listed from their first half (clean), "
            "every speaker's second half screened",
        },
        "policy": policy.name,
        "threshold": threshold,
        "model_id": parts.model.model_id,
        "speakers": len({s.speaker for s in entries}),
        "failed_entries": measured.failed_entries,
        "results": summary,
        "seconds": round(time.monotonic() - started, 1),
        "calls": calls_json(results) if args.trials else None,
    }
    write_json(report, args.out)
    for line in watchlist_lines(summary):
        print(line)
    print(f"report: {args.out}")
    return 0
