# ruff: noqa: PLC0415
"""``voiceauth eval``: error rates of the service's own pipeline on a labelled folder of audio.

It enrols and verifies every speaker against every other through the real ``Enroll`` and
``Verify`` (decoder, quality gate, speech detector, model, scoring policy, the early-decision
loop), each part built by the composition root. Heavy modules (torch through the adapters,
matplotlib) are imported inside the command so ``voiceauth --help`` stays fast (PLC0415).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from voiceauth_web import wiring
from voiceauth_web.commands import (
    Subcommands,
    corpus,
    evaluate_challenge,
    evaluate_identify,
    evaluate_spoof,
    evaluate_watchlist,
)
from voiceauth_web.settings import Settings

if TYPE_CHECKING:
    from voiceauth_core.ports import ScoringPolicy

__all__ = ["register"]


def register(subparsers: Subcommands) -> None:
    """Add ``eval`` to the command line."""
    evaluate = subparsers.add_parser(
        "eval",
        help="measure error rates of the configured pipeline on a labelled folder of audio",
        description=(
            "Enrol and verify every speaker of a corpus against every other through the "
            "service's own pipeline; report EER, minDCF and the errors at the threshold."
        ),
    )
    corpus.add_corpus_arguments(evaluate)
    evaluate_spoof.add_arguments(evaluate)
    evaluate_identify.add_arguments(evaluate)
    evaluate_challenge.add_arguments(evaluate)
    evaluate_watchlist.add_arguments(evaluate)
    channels = ("clean", "phone", "mobile")
    evaluate.add_argument("--enroll-channel", choices=channels, default="clean")
    evaluate.add_argument(
        "--test-channel",
        choices=channels,
        default="clean",
        help="phone: simulated G.711 line; mobile: AMR-NB 12.2k then G.711 (a line the shipped "
        "cohort and calibration never heard)",
    )
    evaluate.add_argument(
        "--no-phone-band",
        dest="phone_band",
        action="store_false",
        help="enrol without the phone-band voiceprint the service keeps (to measure it)",
    )
    evaluate.add_argument(
        "--test-speech",
        type=float,
        default=None,
        metavar="SECONDS",
        help="cut each test to its first SECONDS of speech",
    )
    evaluate.add_argument(
        "--scoring",
        choices=("calibrated", "cosine"),
        default=None,
        help="scoring policy (default: VOICEAUTH_SCORING, calibrated)",
    )
    evaluate.add_argument(
        "--threshold", type=float, default=None, help="operating point (default: VOICE_THRESHOLD)"
    )
    evaluate.add_argument("--cohort", type=Path, default=None, help="another cohort file (.npz)")
    evaluate.add_argument(
        "--calibration", type=Path, default=None, help="another calibration file (.json)"
    )
    evaluate.add_argument("--out", type=Path, default=Path("eval-report.json"), help="JSON report")
    evaluate.add_argument("--plot", type=Path, default=None, help="PNG with histograms and DET")
    evaluate.add_argument(
        "--trials", action="store_true", help="include every trial's outcome in the JSON"
    )
    evaluate.set_defaults(func=_run_eval)


def _policy(args: argparse.Namespace, settings: Settings, model_id: str) -> ScoringPolicy:
    """The service's scoring policy, with ``--scoring``, ``--threshold`` and files overridden.

    Raises:
        InvalidInputError: A cohort or calibration file is missing or malformed.
        ModelMismatchError: They were made with another model than ``model_id``.
    """
    tuned = dataclasses.replace(
        settings,
        scoring=args.scoring or settings.scoring,
        voice_threshold=settings.voice_threshold if args.threshold is None else args.threshold,
    )
    return wiring.scoring_policy(
        tuned, model_id, cohort_path=args.cohort, calibration_path=args.calibration
    )


def _run_eval(args: argparse.Namespace) -> int:
    if args.spoof:
        return evaluate_spoof.run(args)
    if args.identify:
        return evaluate_identify.run(args)
    if args.challenge:
        return evaluate_challenge.run(args)
    if args.watchlist:
        return evaluate_watchlist.run(args)
    from voiceauth_adapters.evaluation.plot import plot_title, write_plot
    from voiceauth_adapters.evaluation.report import (
        eval_report,
        summarise,
        summary_lines,
        write_json,
    )
    from voiceauth_adapters.evaluation.runner import Condition, Evaluator
    from voiceauth_adapters.evaluation.trials import build_trials
    from voiceauth_core.errors import VoiceAuthError

    settings = Settings.from_env()
    try:
        enrollments, tests = corpus.segments(args)
        trials = build_trials(enrollments, tests)
        condition = Condition(
            enroll_channel=args.enroll_channel,
            test_channel=args.test_channel,
            test_speech_s=args.test_speech,
            phone_band=args.phone_band,
        )
        parts = corpus.parts(args, settings)
        policy = _policy(args, settings, parts.model.model_id)
    except VoiceAuthError as exc:
        print(f"voiceauth eval: {exc.message}", file=sys.stderr)
        return 2
    gate, plan = wiring.quality_gate(settings), wiring.capture_plan(settings)
    evaluator = Evaluator(
        engine=corpus.engine(parts, policy, settings),
        decoder=parts.decoder,
        gate=gate,
        plan=plan,
        condition=condition,
    )
    started = time.monotonic()
    update, close = corpus.progress(len(trials), "eval", quiet=args.quiet)
    try:
        results = asyncio.run(evaluator.run(trials, update))
    finally:
        close()
        parts.model.save()
    summary = summarise(results, threshold=policy.threshold)
    report = eval_report(
        source={
            "tool": "voiceauth eval",
            "corpus": str(args.corpus),
            "pattern": args.pattern,
            "speaker_rule": args.speakers,
            "protocol": args.protocol,
        },
        condition=condition,
        policy=policy,
        model_id=parts.model.model_id,
        backend=corpus.backend(args, settings),
        gate=gate,
        plan=plan,
        enrollments=enrollments,
        tests=tests,
        failed_enrollments=evaluator.failed_enrollments,
        summary=summary,
        embeddings_computed=parts.model.computed,
        seconds=round(time.monotonic() - started, 1),
        results=results if args.trials else None,
    )
    write_json(report, args.out)
    if args.plot is not None and "full_length" in summary:
        title = plot_title(args.corpus.name, condition, policy)
        write_plot(results, threshold=policy.threshold, title=title, path=args.plot)
    for line in summary_lines(summary):
        print(line)
    print(f"report: {args.out}" + (f", plot: {args.plot}" if args.plot else ""))
    return 0
