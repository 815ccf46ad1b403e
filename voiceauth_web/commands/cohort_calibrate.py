# ruff: noqa: PLC0415
"""``voiceauth cohort calibrate``: fit the calibrated policy on calibration speakers.

Their trials run through the service's own ``Enroll`` and ``Verify`` (each part built by the
composition root) with a score recorder as the policy; the calibration is fitted on what it
recorded. Heavy modules are imported inside the command so ``voiceauth --help`` stays fast
(PLC0415).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from voiceauth_web import wiring
from voiceauth_web.commands import Subcommands, corpus
from voiceauth_web.settings import Settings

__all__ = ["CONDITIONS", "register"]

#: The enrol/test channel pairs the calibration may be fitted on.
CONDITIONS = ("clean/clean", "clean/phone", "phone/phone")


def register(actions: Subcommands) -> None:
    """Add ``calibrate`` to the ``cohort`` actions."""
    calibrate = actions.add_parser(
        "calibrate",
        help="fit the calibration on calibration speakers (disjoint from the cohort's)",
    )
    corpus.add_corpus_arguments(calibrate)
    calibrate.add_argument(
        "--cohort", type=Path, default=None, help="cohort file (default: shipped)"
    )
    calibrate.add_argument(
        "--cohort-band", choices=("wide", "phone", "both"), default="both", help="AS-norm cohort"
    )
    calibrate.add_argument("--top-k", type=int, default=50, help="AS-norm top-k")
    calibrate.add_argument(
        "--scale",
        action="store_true",
        help="classic AS-norm (divide by top-k deviations); default: adaptive means only",
    )
    calibrate.add_argument(
        "--conditions",
        default=",".join(CONDITIONS),
        help="enrol/test channel pairs to fit on (comma-separated)",
    )
    calibrate.add_argument(
        "--out", type=Path, required=True, help="the calibration file to write (.json)"
    )
    calibrate.set_defaults(func=_run_calibrate)


def _run_calibrate(args: argparse.Namespace) -> int:
    from voiceauth_adapters.cohort import PolicyParameters, read_cohort_file, write_parameters
    from voiceauth_adapters.evaluation.fitting import RecordedTrial, ScoreRecorder, fit_parameters
    from voiceauth_adapters.evaluation.recording import record_condition
    from voiceauth_adapters.evaluation.runner import Condition, Evaluator
    from voiceauth_adapters.evaluation.trials import build_trials
    from voiceauth_core.calibration import AsNorm, BandEstimator
    from voiceauth_core.errors import VoiceAuthError

    settings = Settings.from_env()
    try:
        enrollments, tests = corpus.segments(args)
        trials = build_trials(enrollments, tests)
        stored = read_cohort_file(args.cohort)
        parts = corpus.parts(args, settings)
        conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
        if any(c not in CONDITIONS for c in conditions):
            print(f"voiceauth cohort calibrate: conditions are {', '.join(CONDITIONS)}")
            return 2
        band = BandEstimator.from_cohorts(wide=stored.cohort("wide"), phone=stored.cohort("phone"))
        asnorm = AsNorm(cohort=stored.cohort(args.cohort_band), top_k=args.top_k, scale=args.scale)
        recorder = ScoreRecorder(asnorm, band)
    except VoiceAuthError as exc:
        print(f"voiceauth cohort calibrate: {exc.message}", file=sys.stderr)
        return 2
    gate, plan = wiring.quality_gate(settings), wiring.capture_plan(settings)
    engine = corpus.engine(parts, recorder, settings)
    recorded: list[RecordedTrial] = []
    for name in conditions:
        enroll_channel, test_channel = name.split("/")
        evaluator = Evaluator(
            engine=engine,
            decoder=parts.decoder,
            gate=gate,
            plan=plan,
            condition=Condition(enroll_channel=enroll_channel, test_channel=test_channel),
        )
        update, close = corpus.progress(len(trials), name, quiet=args.quiet)
        try:
            recorded += asyncio.run(
                record_condition(evaluator, trials, recorder, name=name, progress=update)
            )
        finally:
            close()
            parts.model.save()
    fitted = fit_parameters(
        recorded, threshold=settings.voice_threshold, target_speech_s=plan.target_speech_s
    )
    speakers = sorted({s.speaker for s in (*enrollments, *tests)})
    parameters = PolicyParameters(
        model_id=parts.model.model_id,
        cohort_band=args.cohort_band,
        top_k=args.top_k,
        scale=args.scale,
        band_centre=fitted.band_centre,
        band_width=fitted.band_width,
        calibration=fitted.calibration,
        accept_margin=fitted.accept_margin,
        reject_margin=fitted.reject_margin,
        fitted_on=(
            f"{len(recorded)} trials ({', '.join(conditions)}) of {len(speakers)} speakers of "
            f"{args.corpus.name} matching {args.speakers or 'any'}; operating point at fitted "
            f"log-odds {fitted.operating_log_odds:.2f} = score {settings.voice_threshold:g}"
        ),
    )
    write_parameters(parameters, args.out)
    for name, row in fitted.summary.items():
        print(f"{name}: {row}")
    print(f"calibration -> {args.out}")
    return 0
