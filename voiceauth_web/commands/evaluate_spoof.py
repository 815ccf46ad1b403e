# ruff: noqa: PLC0415
"""``voiceauth eval --spoof``: the synthetic-speech check measured on spoofs it never fitted.

Every clip of a corpus built by ``voiceauth spoof-corpus build`` is heard as the service hears a
call (the service's decoder and speech detector, then AASIST) and its raw score cached; the
report fits the calibration and thresholds on one half of the speakers and texts and measures
them on the other, one spoof family held out at a time (see
:mod:`voiceauth_adapters.evaluation.spoof_eval`). Heavy modules are imported inside the command
so ``voiceauth --help`` stays fast (PLC0415).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceauth_web import wiring
from voiceauth_web.settings import Settings

if TYPE_CHECKING:
    from voiceauth_adapters.evaluation.spoof_eval.report import Configured

__all__ = ["add_arguments", "run"]

#: What ``--front-end`` may put before the network: the service's own level normalisation,
#: none (the detector as it was before it had one), or the alternatives of
#: ``spoof_eval.levels.LEVELS`` (spelled out so that ``--help`` does not import it; a test keeps
#: them equal).
FRONT_ENDS = ("service", "none", "peak-3dBFS")
#: The name the shipped back-end's scores carry after the network's id (``...+name``).
BACKEND_NAME = "lofo1"
#: The back-ends the detector can apply (``spoof_eval.backend_fit.RUNTIME_VARIANTS``, spelled
#: out for the same reason; a test keeps them equal), and ``none``: AASIST's raw score.
BACKENDS = ("distance+channel", "distance", "none")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--spoof`` and its options, on ``voiceauth eval`` (which brings the corpus, ``--out``,
    ``--threads`` and ``--quiet``)."""
    group = parser.add_argument_group(
        "synthetic speech (--spoof)",
        "measure the anti-spoofing check on a corpus from `voiceauth spoof-corpus build`: EER "
        "per channel and per unseen spoof family, spoofs ending accept, genuine step-ups",
    )
    group.add_argument(
        "--spoof",
        action="store_true",
        help="evaluate the synthetic-speech check instead of speaker verification",
    )
    group.add_argument(
        "--scores",
        type=Path,
        default=None,
        metavar="CSV",
        help="raw score cache (default: $XDG_CACHE_HOME/voiceauth/spoof-scores.csv)",
    )
    group.add_argument(
        "--split-seed", type=int, default=0, help="seed of the speaker and text halves"
    )
    group.add_argument(
        "--front-end",
        choices=FRONT_ENDS,
        default="service",
        help="service: the detector's own level normalisation (RMS -26 dBFS); none: without "
        "it; peak-3dBFS: a peak normalisation instead (the comparison of docs/spoofing.md)",
    )
    group.add_argument(
        "--spoof-calibration",
        type=Path,
        default=None,
        metavar="JSON",
        help="measure this calibration as configured (default: the shipped one)",
    )
    group.add_argument(
        "--write-calibration",
        type=Path,
        default=None,
        metavar="JSON",
        help="write the calibration fitted on the whole fit side here (of the back-end's "
        "scores, unless --spoof-variant none)",
    )
    group.add_argument(
        "--spoof-variant",
        choices=BACKENDS,
        default=BACKENDS[0],
        help="the back-end on AASIST's outputs fitted and measured as it would ship (none: "
        "AASIST's raw score alone); reads the speaker embeddings and hidden representations "
        "cached beside the scores (default: %(default)s)",
    )
    group.add_argument(
        "--spoof-backend",
        type=Path,
        default=None,
        metavar="JSON",
        help="measure this back-end as configured, with --spoof-calibration (default: the "
        "shipped one)",
    )
    group.add_argument(
        "--write-backend",
        type=Path,
        default=None,
        metavar="JSON",
        help="write the back-end fitted on the whole fit side here",
    )
    group.add_argument(
        "--compare-backends",
        action="store_true",
        help="also fit and measure every back-end variant leave-one-family-out",
    )


def _progress(total: int, *, quiet: bool) -> tuple[Any, Any]:
    if quiet:
        return (lambda n: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(total=total, desc="spoof scores", unit="clip", file=sys.stderr, dynamic_ncols=True)
    return bar.update, bar.close


def _configured(args: argparse.Namespace, settings: Settings) -> Configured | None:
    """The calibration the service would load and the settings' thresholds (None: no
    calibration to read)."""
    from voiceauth_adapters.antispoof import (
        SHIPPED_CALIBRATION,
        read_calibration,
        shipped_calibration,
    )
    from voiceauth_adapters.evaluation.spoof_eval.report import Configured
    from voiceauth_adapters.speechbrain import ModelUnavailableError
    from voiceauth_core.errors import InvalidInputError

    try:
        if args.spoof_calibration is not None:
            calibration = read_calibration(args.spoof_calibration)
            source = str(args.spoof_calibration)
        else:
            calibration = shipped_calibration()
            source = str(SHIPPED_CALIBRATION)
    except (ModelUnavailableError, InvalidInputError, OSError) as exc:
        print(f"voiceauth eval --spoof: not measuring a configured calibration: {exc}")
        return None
    return Configured(calibration=calibration, gate=wiring.spoof_gate(settings), source=source)


def _backend_part(
    args: argparse.Namespace,
    settings: Settings,
    *,
    detector: Any,
    clips: list[Any],
    split: Any,
    offline: Settings,
    cache: Path,
    configured: Configured | None,
) -> tuple[dict[str, Any], Any, Any]:
    """The back-end's report: features heard (cached), the variant fitted leave-one-family-out
    and as shipped, every variant compared when asked; writes the back-end when asked."""
    from voiceauth_adapters.antispoof import SHIPPED_BACKEND, read_backend, write_backend
    from voiceauth_adapters.evaluation.spoof_eval.backend_report import (
        backend_comparison,
        shipped_backend_report,
    )
    from voiceauth_adapters.evaluation.spoof_eval.features import feature_clips, featured_clips
    from voiceauth_core.errors import InvalidInputError

    model = wiring.embedding_model(settings, threads=args.threads or 1)
    update, close = _progress(len(clips), quiet=args.quiet)
    try:
        features = asyncio.run(
            feature_clips(
                args.corpus,
                [clip.path for clip in clips],
                decoder=wiring.audio_decoder(offline),
                speech_detector=wiring.speech_detector(),
                detector=detector,
                model=model,
                cache=cache.with_name(cache.stem + "-features.csv"),
                score_cache=cache,
                progress=update,
            )
        )
    finally:
        close()
    items = featured_clips(clips, features)
    measured_as_configured = None
    if configured is not None and args.spoof_backend is not None:
        measured_as_configured = (read_backend(args.spoof_backend), configured)
    elif configured is not None:
        try:
            backend = read_backend(SHIPPED_BACKEND)
        except (OSError, InvalidInputError):
            backend = None
        if backend is not None and backend.scored_id == configured.calibration.detector_id:
            measured_as_configured = (backend, configured)
    part, runtime, calibration, gate = shipped_backend_report(
        items,
        split,
        variant=args.spoof_variant,
        name=BACKEND_NAME,
        detector_id=detector.detector_id,
        configured=measured_as_configured,
    )
    if args.compare_backends:
        part["comparison"] = backend_comparison(items, split, detector_id=detector.detector_id)
    note = (
        f"fitted by `voiceauth eval --spoof --spoof-variant {args.spoof_variant}` on the fit "
        f"side of {args.corpus.name} (split seed {args.split_seed}), detector front end "
        f"{detector.front_end}, see BACKEND_SOURCE.md"
    )
    if args.write_backend is not None:
        args.write_backend.parent.mkdir(parents=True, exist_ok=True)
        write_backend(runtime, args.write_backend, note=note)
    return part, calibration, gate


def _scored(
    args: argparse.Namespace,
    rows: list[dict[str, str]],
    *,
    detector: Any,
    front_end: str,
    offline: Settings,
    cache: Path,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every clip's raw scores (cached or heard now), and what it took."""
    from voiceauth_adapters.evaluation.spoof_eval.levels import LEVELS
    from voiceauth_adapters.evaluation.spoof_eval.scores import read_scores, score_clips

    def known() -> int:
        return len(read_scores(cache, detector=detector.detector_id, front_end=front_end))

    before = known()
    update, close = _progress(len(rows), quiet=args.quiet)
    started, cpu = time.monotonic(), time.process_time()
    try:
        scores = asyncio.run(
            score_clips(
                args.corpus,
                [row["path"] for row in rows],
                decoder=wiring.audio_decoder(offline),
                speech_detector=wiring.speech_detector(),
                spoof=detector,
                cache=cache,
                front_end=front_end,
                prepare=LEVELS.get(args.front_end),
                progress=update,
            )
        )
    finally:
        close()
    return scores, {
        "cache": str(cache),
        "clips": len(scores),
        "scored_now": known() - before,
        "not_assessed_too_little_speech": sum(1 for s in scores.values() if not s.assessed),
        "wall_seconds": round(time.monotonic() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
    }


def run(args: argparse.Namespace) -> int:
    """Score the corpus (once per clip), fit on one side, report the other."""
    from voiceauth_adapters.antispoof import write_calibration
    from voiceauth_adapters.evaluation.report import write_json
    from voiceauth_adapters.evaluation.spoof_eval.report import spoof_report, summary_lines
    from voiceauth_adapters.evaluation.spoof_eval.scores import raw_detector, read_manifest
    from voiceauth_adapters.evaluation.spoof_eval.splits import scored_clips, split_corpus
    from voiceauth_adapters.speechbrain import ModelUnavailableError
    from voiceauth_core.errors import VoiceAuthError

    settings = Settings.from_env()
    cache = args.scores or settings.cache_dir / "spoof-scores.csv"
    offline = dataclasses.replace(
        settings, max_audio_duration=3600.0, max_upload_bytes=1 << 30
    )  # corpus files, decoded whole
    try:
        rows = read_manifest(args.corpus)
        detector = raw_detector(
            settings.cache_dir, threads=args.threads or 1, level=args.front_end == "service"
        )
    except ModelUnavailableError as exc:
        print(f"voiceauth eval --spoof: {exc}; run `voiceauth model fetch`", file=sys.stderr)
        return 2
    except VoiceAuthError as exc:
        print(f"voiceauth eval --spoof: {exc.message}", file=sys.stderr)
        return 2
    front_end = detector.front_end if args.front_end == "service" else args.front_end

    scores, scoring = _scored(
        args, rows, detector=detector, front_end=front_end, offline=offline, cache=cache
    )
    clips = scored_clips(
        rows, {path: (s.combined, s.speech_seconds) for path, s in scores.items() if s.assessed}
    )
    configured = _configured(args, settings)
    # A configured calibration of a back-end's scores is measured on them, not on raw ones.
    raw_configured = (
        configured
        if configured is not None and configured.calibration.detector_id == detector.detector_id
        else None
    )
    backend: dict[str, Any] | None = None
    try:
        split = split_corpus(clips, seed=args.split_seed)
        report, calibration, gate = spoof_report(
            clips, split, detector_id=detector.detector_id, configured=raw_configured
        )
        if args.spoof_variant != "none" and args.front_end == "service":
            backend, calibration, gate = _backend_part(
                args,
                settings,
                detector=detector,
                clips=clips,
                split=split,
                offline=offline,
                cache=cache,
                configured=configured,
            )
    except VoiceAuthError as exc:
        print(f"voiceauth eval --spoof: {exc.message}", file=sys.stderr)
        return 2
    full = {
        "source": {
            "tool": "voiceauth eval --spoof",
            "corpus": str(args.corpus),
            "detector": detector.detector_id,
            "front_end": front_end,
            "split_seed": args.split_seed,
        },
        "scoring": scoring,
        **report,
        "backend": backend,
    }
    write_json(full, args.out)
    if args.write_calibration is not None:
        note = (
            f"fitted by `voiceauth eval --spoof` on the fit side of {args.corpus.name} "
            f"(split seed {args.split_seed}), detector front end {front_end}, back-end "
            f"{args.spoof_variant}, see SOURCE.md; "
            f"thresholds: step-up {gate.step_up_probability}, "
            f"elevated {gate.elevated_probability}, margin {gate.baseline_margin}, "
            f"refuse {gate.refuse_enroll_probability}"
        )
        args.write_calibration.parent.mkdir(parents=True, exist_ok=True)
        write_calibration(calibration, args.write_calibration, note=note)
    print(
        f"{scoring['clips']} clips ({scoring['scored_now']} scored now, the rest cached) in "
        f"{scoring['wall_seconds']} s "
        f"({scoring['not_assessed_too_little_speech']} with too little speech)"
    )
    for line in summary_lines(full):
        print(line)
    if backend is not None:
        from voiceauth_adapters.evaluation.spoof_eval.backend_report import backend_part_lines

        for line in backend_part_lines(backend):
            print(line)
    print(f"report: {args.out}")
    return 0
