# ruff: noqa: PLC0415
"""``voiceauth eval --identify``: caller identification (1:N) measured on a labelled corpus.

Every speaker enrols once through the service's ``Enroll``; the probe speakers
(``--probe-speakers``, by default the evaluation split ``.*[7-9]``, never used for the cohort or
the calibration) are identified through the service's ``Identify`` against galleries of
``--gallery-sizes`` voices, clean and over the phone channel, with their own voiceprint in the
gallery (closed set) and left out (open set). ``--synthetic`` adds random voiceprints to the
largest real gallery to reach a large size, for the search's speed and the gallery-size
correction's effect (see
:mod:`voiceauth_adapters.evaluation.identification`). Heavy modules are imported inside the
command so ``voiceauth --help`` stays fast (PLC0415).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from voiceauth_web import wiring
from voiceauth_web.commands import corpus
from voiceauth_web.settings import Settings

if TYPE_CHECKING:
    from voiceauth_adapters.evaluation.identification import IdentifyTrial

__all__ = ["add_arguments", "run"]


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError("sizes are whole numbers, comma-separated") from exc
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("give at least one positive size")
    return sizes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--identify`` and its options, on ``voiceauth eval``."""
    group = parser.add_argument_group(
        "identification (--identify)",
        "measure 1:N identification: top-1 accuracy, misses and open-set false matches per "
        "gallery size and channel",
    )
    group.add_argument(
        "--identify", action="store_true", help="evaluate identification instead of verification"
    )
    group.add_argument(
        "--gallery-sizes",
        type=_sizes,
        default=[10, 100, 250],
        metavar="N,N,...",
        help="gallery sizes (default 10,100,250; capped at the enrolled speakers)",
    )
    group.add_argument(
        "--probe-speakers",
        default=r".*[7-9]",
        metavar="REGEX",
        help="speakers probed (default '.*[7-9]', the evaluation split); the others only fill "
        "galleries, cohort speakers ('.*[0-3]') before calibration speakers",
    )
    group.add_argument(
        "--synthetic",
        type=_sizes,
        default=[],
        metavar="N,N,...",
        help="also identify against the largest real gallery plus random voiceprints up to N",
    )
    group.add_argument(
        "--fit-open-set",
        type=Path,
        default=None,
        metavar="JSON",
        help="first fit the open-set rule's impostor model on --fit-speakers, write it here and "
        "measure with it (the shipped one: voiceauth_adapters/index/data/open_set.json)",
    )
    group.add_argument(
        "--fit-speakers",
        default=r".*[4-6]",
        metavar="REGEX",
        help="speakers the impostor model is fitted on (default '.*[4-6]', the calibration split)",
    )
    group.add_argument(
        "--identify-channels",
        default="clean,phone",
        help="test channels, comma-separated (default clean,phone)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``voiceauth eval --identify``; the exit status."""
    from voiceauth_adapters.evaluation.identification import (
        IdentificationRun,
        identification_lines,
        summarise_identification,
    )
    from voiceauth_adapters.evaluation.report import write_json
    from voiceauth_adapters.evaluation.runner import CHANNELS, Condition, Evaluator
    from voiceauth_adapters.index.open_set import fit_open_set, read_open_set, write_open_set
    from voiceauth_core.errors import VoiceAuthError

    settings = Settings.from_env()
    channels = [c.strip() for c in args.identify_channels.split(",") if c.strip()]
    if not channels or any(c not in CHANNELS for c in channels):
        print(f"voiceauth eval: channels are among {', '.join(CHANNELS)}", file=sys.stderr)
        return 2
    try:
        probe_rule = re.compile(args.probe_speakers)
        enrollments, tests = corpus.segments(args)
        parts = corpus.parts(args, settings)
        policy = wiring.scoring_policy(settings, parts.model.model_id)
    except (VoiceAuthError, re.error) as exc:
        print(f"voiceauth eval: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    gate, plan = wiring.quality_gate(settings), wiring.capture_plan(settings)
    engine = corpus.engine(parts, policy, settings)
    evaluator = Evaluator(
        engine=engine,
        decoder=parts.decoder,
        gate=gate,
        plan=plan,
        condition=Condition(enroll_channel=args.enroll_channel),
    )
    rule = wiring.open_set_rule(
        dataclasses.replace(settings, scoring="cosine"), parts.model.model_id
    )  # the limits only: the impostor model comes from the fit or the shipped file below
    measured = IdentificationRun(
        evaluator=evaluator,
        engine=engine,
        gate=gate,
        plan=plan,
        rule=rule,
        enroll_channel=args.enroll_channel,
    )
    started = time.monotonic()

    async def measure() -> tuple[list[IdentifyTrial], dict[str, object]]:
        update, close = corpus.progress(len(enrollments), "enrol", quiet=args.quiet)
        try:
            await measured.enrol(enrollments, update)
        finally:
            close()
        if args.fit_open_set is not None:
            fitted = fit_open_set(
                await measured.impostor_log_odds(
                    tests, speakers=re.compile(args.fit_speakers), channels=channels
                ),
                model_id=parts.model.model_id,
                source=f"{args.corpus.name}, speakers {args.fit_speakers}, channels "
                f"{'+'.join(channels)}, enrolled {args.enroll_channel}",
            )
            write_open_set(fitted, args.fit_open_set)
        measured.rule = wiring.open_set_rule(settings, parts.model.model_id, path=args.fit_open_set)
        return await measured.galleries(
            tests,
            probe_rule=probe_rule,
            sizes=args.gallery_sizes,
            channels=channels,
            synthetic=args.synthetic,
        )

    try:
        trials, gallery_info = asyncio.run(measure())
    finally:
        parts.model.save()
    rows = summarise_identification(
        trials, threshold=measured.rule.threshold, max_false_match=measured.rule.max_false_match
    )
    report = {
        "source": {
            "tool": "voiceauth eval --identify",
            "corpus": str(args.corpus),
            "pattern": args.pattern,
            "probe_speakers": args.probe_speakers,
            "protocol": "halves: first half enrols, second half is the probe",
        },
        "policy": policy.name,
        "threshold": measured.rule.threshold,
        "max_false_match": measured.rule.max_false_match,
        "open_set": dataclasses.asdict(read_open_set(args.fit_open_set)),
        "model_id": parts.model.model_id,
        "enroll_channel": args.enroll_channel,
        "enrolled_speakers": len(measured.enrolled),
        "failed_enrollments": measured.failed,
        **gallery_info,
        "results": rows,
        "seconds": round(time.monotonic() - started, 1),
    }
    write_json(report, args.out)
    for line in identification_lines(rows):
        print(line)
    print(f"report: {args.out}")
    return 0
