# ruff: noqa: PLC0415
"""``voiceauth eval``, ``voiceauth cohort build`` and ``voiceauth cohort calibrate``.

Heavy modules (torch through the adapters, matplotlib) are imported inside the commands so
``voiceauth --help`` stays fast (PLC0415).

They run the service's own pipeline (decoder, speech detector, model, scoring policy, the Verify
loop) over a labelled folder of audio. Heavy imports happen inside the command functions.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceauth_web.settings import INFERENCE_BACKENDS, Settings, SettingsError

if TYPE_CHECKING:
    from voiceauth_adapters.evaluation.cache import CachedModel
    from voiceauth_adapters.evaluation.trials import Segment
    from voiceauth_core.ports import AudioDecoder, EmbeddingModel, ScoringPolicy, SpeechDetector

__all__ = ["register"]

DEFAULT_PATTERN = r"^(?P<speaker>[^/_-]+)[/_-]"
CONDITIONS = ("clean/clean", "clean/phone", "phone/phone")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eval`` and ``cohort`` to the command line."""
    evaluate = subparsers.add_parser(
        "eval",
        help="measure error rates of the configured pipeline on a labelled folder of audio",
        description=(
            "Enrol and verify every speaker of a corpus against every other through the "
            "service's own pipeline; report EER, minDCF and the errors at the threshold."
        ),
    )
    _corpus_arguments(evaluate)
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

    cohort = subparsers.add_parser("cohort", help="build the score cohort or fit the calibration")
    actions = cohort.add_subparsers(dest="cohort_command", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="embed a corpus (each clip's halves, wide-band and phone-band) into a cohort file",
    )
    _corpus_arguments(build, protocol=False)
    build.add_argument("--out", type=Path, required=True, help="the cohort file to write (.npz)")
    build.set_defaults(func=_run_cohort_build)

    calibrate = actions.add_parser(
        "calibrate",
        help="fit the calibration on calibration speakers (disjoint from the cohort's)",
    )
    _corpus_arguments(calibrate)
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


def _corpus_arguments(parser: argparse.ArgumentParser, *, protocol: bool = True) -> None:
    parser.add_argument("corpus", type=Path, help="folder of audio files (searched recursively)")
    parser.add_argument(
        "--pattern",
        default=DEFAULT_PATTERN,
        help=(
            "regular expression on each file's relative path; group 'speaker' names the speaker "
            f"(default {DEFAULT_PATTERN!r}: the first token; FSDD: '_(?P<speaker>[a-z]+)_')"
        ),
    )
    parser.add_argument(
        "--speakers",
        default=None,
        metavar="REGEX",
        help="keep speakers whose label fully matches (a fixed split rule, e.g. '.*[7-9]')",
    )
    parser.add_argument("--limit-speakers", type=int, default=None, metavar="N")
    if protocol:
        parser.add_argument(
            "--protocol",
            choices=("halves", "groups"),
            default="halves",
            help="halves: each clip's 1st half enrols, 2nd tests; groups: join files per speaker",
        )
        parser.add_argument("--enroll-files", type=int, default=10, help="groups: files to enrol")
        parser.add_argument("--test-files", type=int, default=5, help="groups: files per test")
        parser.add_argument(
            "--order",
            choices=("natural", "index"),
            default="index",
            help="groups: file order (index: by the last number in the name, i.e. by take)",
        )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="embedding cache folder (default: $XDG_CACHE_HOME/voiceauth/eval-cache)",
    )
    parser.add_argument("--no-cache", action="store_true", help="keep embeddings in memory only")
    parser.add_argument("--threads", type=int, default=None, help="inference threads")
    parser.add_argument(
        "--backend",
        choices=INFERENCE_BACKENDS,
        default=None,
        help="embedding backend (default: VOICEAUTH_INFERENCE, else onnx)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _backend(args: argparse.Namespace, settings: Settings) -> str:
    """The embedding backend: ``--backend``, else ``VOICEAUTH_INFERENCE``."""
    backend: str = args.backend or settings.inference_backend
    return backend


def _ports(
    args: argparse.Namespace, settings: Settings
) -> tuple[AudioDecoder, SpeechDetector, CachedModel]:
    """The service's decoder, speech detector and model, the model wrapped in the cache."""
    from voiceauth_adapters.evaluation.cache import CachedModel, CachedSpeechDetector

    decoder, detector, model = _service_adapters(args, settings)
    cache = None if args.no_cache else (args.cache or settings.cache_dir / "eval-cache")
    from voiceauth_adapters.inference import backend_variant

    variant = backend_variant(_backend(args, settings))
    return decoder, CachedSpeechDetector(detector), CachedModel(model, cache, variant=variant)


def _service_adapters(
    args: argparse.Namespace, settings: Settings
) -> tuple[AudioDecoder, SpeechDetector, EmbeddingModel]:
    """The service's own decoder, speech detector and ECAPA model.

    Corpus files are decoded whole and may outlast ``MAX_AUDIO_DURATION``; the segments cut from
    them go through the service's quality gate in ``Enroll`` and ``Verify`` as any recording.

    Raises:
        SettingsError: The model files are not provisioned (``voiceauth model fetch``).
    """
    from voiceauth_adapters.audio import AudioDecoderLimits, FfmpegSoundfileDecoder
    from voiceauth_adapters.inference import BoundedInferencePool, load_embedder
    from voiceauth_adapters.speechbrain import ModelUnavailableError, resolve_model
    from voiceauth_adapters.vad import SileroSpeechDetector

    try:
        resolved = resolve_model(
            model_dir=settings.model_dir, cache_dir=settings.cache_dir, allow_download=False
        )
    except ModelUnavailableError as exc:
        raise SettingsError(f"{exc}; run `voiceauth model fetch` first") from exc
    threads = args.threads if args.threads is not None else settings.inference_threads
    backend = _backend(args, settings)
    embedder = load_embedder(
        backend, resolved.directory, cache_dir=settings.cache_dir, threads=threads
    )
    # The service's own path: one call at a time through the pool (a day of patience offline).
    model = BoundedInferencePool(embedder, workers=1, queue_timeout=86400.0)
    decoder = FfmpegSoundfileDecoder(AudioDecoderLimits(max_seconds=3600.0, max_bytes=1 << 30))
    return decoder, SileroSpeechDetector(), model


def _segments(args: argparse.Namespace) -> tuple[list[Segment], list[Segment]]:
    from voiceauth_adapters.evaluation.corpus import read_corpus
    from voiceauth_adapters.evaluation.trials import split_groups, split_halves

    clips = read_corpus(
        args.corpus,
        pattern=args.pattern,
        speakers=args.speakers,
        limit_speakers=args.limit_speakers,
    )
    if getattr(args, "protocol", "halves") == "groups":
        return split_groups(
            clips, enroll_files=args.enroll_files, test_files=args.test_files, order=args.order
        )
    return split_halves(clips)


def _progress(
    total: int, label: str, *, quiet: bool
) -> tuple[Callable[[int], None], Callable[[], None]]:
    if quiet:
        return (lambda n: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="trial", file=sys.stderr, dynamic_ncols=True)
    return bar.update, bar.close


def _policy(args: argparse.Namespace, settings: Settings, model_id: str) -> ScoringPolicy:
    from voiceauth_adapters.cohort import load_calibrated_policy
    from voiceauth_core.scoring import CosinePolicy

    threshold = settings.voice_threshold if args.threshold is None else args.threshold
    if (args.scoring or settings.scoring) == "cosine":
        return CosinePolicy(threshold=threshold)
    return load_calibrated_policy(
        threshold=threshold,
        model_id=model_id,
        cohort_path=args.cohort,
        calibration_path=args.calibration,
    )


def _gate_and_plan(settings: Settings) -> tuple[Any, Any]:
    from voiceauth_core.quality import QualityGate
    from voiceauth_core.use_cases import CapturePlan

    gate = QualityGate(
        max_duration_s=settings.max_audio_duration,
        min_enroll_speech_s=settings.min_enroll_speech,
        strong_enroll_speech_s=settings.strong_enroll_speech,
        min_verify_speech_s=settings.min_verify_speech,
    )
    plan = CapturePlan(
        max_audio_s=settings.max_audio_duration, target_speech_s=settings.target_verify_speech
    )
    return gate, plan


def _run_eval(args: argparse.Namespace) -> int:
    from voiceauth_adapters.evaluation.report import summarise, write_json, write_plot
    from voiceauth_adapters.evaluation.runner import Condition, Evaluator
    from voiceauth_adapters.evaluation.trials import build_trials
    from voiceauth_core.errors import VoiceAuthError

    settings = Settings.from_env()
    try:
        enrollments, tests = _segments(args)
        trials = build_trials(enrollments, tests)
        condition = Condition(
            enroll_channel=args.enroll_channel,
            test_channel=args.test_channel,
            test_speech_s=args.test_speech,
            phone_band=args.phone_band,
        )
        decoder, detector, model = _ports(args, settings)
        policy = _policy(args, settings, model.model_id)
    except VoiceAuthError as exc:
        print(f"voiceauth eval: {exc.message}", file=sys.stderr)
        return 2
    gate, plan = _gate_and_plan(settings)
    evaluator = Evaluator(
        decoder=decoder,
        detector=detector,
        model=model,
        policy=policy,
        gate=gate,
        plan=plan,
        condition=condition,
    )
    started = time.monotonic()
    update, close = _progress(len(trials), "eval", quiet=args.quiet)
    try:
        results = asyncio.run(evaluator.run(trials, update))
    finally:
        close()
        model.save()
    summary = summarise(results, threshold=policy.threshold)
    speakers = sorted({s.speaker for s in (*enrollments, *tests)})
    report: dict[str, Any] = {
        "tool": "voiceauth eval",
        "corpus": str(args.corpus),
        "pattern": args.pattern,
        "speaker_rule": args.speakers,
        "protocol": args.protocol,
        "condition": asdict(condition),
        "policy": {"name": policy.name, "threshold": policy.threshold},
        "model_id": model.model_id,
        "backend": _backend(args, settings),
        "plan": asdict(plan),
        "min_enroll_speech_s": gate.min_enroll_speech_s,
        "min_verify_speech_s": gate.min_verify_speech_s,
        "counts": {
            "speakers": len(speakers),
            "enrollments": len(enrollments),
            "failed_enrollments": len(evaluator.failed_enrollments),
            "tests": len(tests),
        },
        "failed_enrollments": evaluator.failed_enrollments,
        **summary,
        "embeddings_computed": model.computed,
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.trials:
        report["trial_results"] = [
            {**asdict(r), "decision": r.decision.value, "full_decision": r.full_decision.value}
            for r in results
        ]
    write_json(report, args.out)
    if args.plot is not None and "full_length" in summary:
        title = (
            f"{args.corpus.name}: enrol {condition.enroll_channel}, test {condition.test_channel}"
            f"{f', {condition.test_speech_s:g} s speech' if condition.test_speech_s else ''}"
            f"{'' if condition.phone_band else ', no phone-band voiceprint'} "
            f"({policy.name}, threshold {policy.threshold:g})"
        )
        write_plot(results, threshold=policy.threshold, title=title, path=args.plot)
    _print_summary(summary)
    print(f"report: {args.out}" + (f", plot: {args.plot}" if args.plot else ""))
    return 0


def _print_summary(summary: dict[str, Any]) -> None:
    full = summary.get("full_length")
    if full:
        for name in ("calibrated", "raw_cosine"):
            part = full[name]
            at = part["at_threshold"]
            print(
                f"{name:>11}: EER {100 * part['eer']:.2f} %  minDCF {part['min_dcf']:.3f}  "
                f"at {at['threshold']:g}: FRR {at['false_rejects']}/{at['genuine']} "
                f"FAR {at['false_accepts']}/{at['impostor']}"
            )
    service = summary["service"]
    print(
        f"    service: FRR {service['false_rejects']}/{service['genuine']} "
        f"FAR {service['false_accepts']}/{service['impostor']}  "
        f"median speech {service['speech_s_median']} s "
        f"(genuine {service['speech_s_median_genuine']} s)"
    )


def _run_cohort_build(args: argparse.Namespace) -> int:
    from voiceauth_adapters.audio.telephone import phone_channel
    from voiceauth_adapters.cohort import CohortFile, write_cohort_file
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
        decoder, detector, model = _ports(args, settings)
    except VoiceAuthError as exc:
        print(f"voiceauth cohort build: {exc.message}", file=sys.stderr)
        return 2

    async def embed_all(update: Callable[[int], None]) -> CohortFile:
        import numpy as np

        rows: list[Any] = []
        speakers: list[str] = []
        bands: list[str] = []
        for clip in clips:
            audio = await decoder.decode(await asyncio.to_thread(clip.path.read_bytes))
            middle = audio.duration / 2
            for half in (audio.slice(0, middle), audio.slice(middle)):
                for band in ("wide", "phone"):
                    heard = phone_channel(half) if band == "phone" else half
                    speech = await detector.speech(heard)
                    if speech.duration < settings.min_verify_speech:
                        continue
                    rows.append((await model.embed(speech)).vector)
                    speakers.append(clip.speaker)
                    bands.append(band)
            update(1)
        return CohortFile(
            embeddings=np.array(rows, dtype=np.float32),
            speakers=tuple(speakers),
            bands=tuple(bands),
            model_id=model.model_id,
        )

    update, close = _progress(len(clips), "cohort", quiet=args.quiet)
    try:
        cohort = asyncio.run(embed_all(update))
    finally:
        close()
        model.save()
    write_cohort_file(cohort, args.out)
    print(
        f"cohort: {len(cohort.bands)} embeddings of {len(set(cohort.speakers))} speakers "
        f"({cohort.bands.count('wide')} wide-band, {cohort.bands.count('phone')} phone-band) "
        f"-> {args.out}"
    )
    return 0


def _run_calibrate(args: argparse.Namespace) -> int:
    from voiceauth_adapters.cohort import PolicyParameters, read_cohort_file, write_parameters
    from voiceauth_adapters.evaluation.fitting import RecordedTrial, ScoreRecorder, fit_parameters
    from voiceauth_adapters.evaluation.runner import Condition, Evaluator, TrialResult
    from voiceauth_adapters.evaluation.trials import Trial, build_trials
    from voiceauth_core.calibration import AsNorm, BandEstimator
    from voiceauth_core.errors import VoiceAuthError

    settings = Settings.from_env()
    try:
        enrollments, tests = _segments(args)
        trials = build_trials(enrollments, tests)
        stored = read_cohort_file(args.cohort)
        decoder, detector, model = _ports(args, settings)
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
    gate, plan = _gate_and_plan(settings)
    recorded: list[RecordedTrial] = []
    for name in conditions:
        enroll_channel, test_channel = name.split("/")
        evaluator = Evaluator(
            decoder=decoder,
            detector=detector,
            model=model,
            policy=recorder,
            gate=gate,
            plan=plan,
            condition=Condition(enroll_channel=enroll_channel, test_channel=test_channel),
        )

        def keep(trial: Trial, result: TrialResult, name: str = name) -> None:
            del result
            points = recorder.take()
            if points:
                recorded.append(
                    RecordedTrial(condition=name, genuine=trial.genuine, points=tuple(points))
                )

        update, close = _progress(len(trials), name, quiet=args.quiet)
        try:
            asyncio.run(evaluator.run(trials, update, keep))
        finally:
            close()
            model.save()
    fitted = fit_parameters(
        recorded, threshold=settings.voice_threshold, target_speech_s=plan.target_speech_s
    )
    speakers = sorted({s.speaker for s in (*enrollments, *tests)})
    parameters = PolicyParameters(
        model_id=model.model_id,
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
