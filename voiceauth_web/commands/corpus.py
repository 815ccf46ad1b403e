# ruff: noqa: PLC0415
"""What the corpus commands share: their arguments, the corpus's segments, and the service's parts.

``voiceauth eval``, ``voiceauth cohort build`` and ``voiceauth cohort calibrate`` hear a labelled
folder of audio with the service's own decoder, speech detector and model, built by the
composition root (``voiceauth_web.wiring``) from the same ``Settings`` as the service's; only the
model and detector are wrapped in the embedding cache, and the decoder takes whole corpus files.
Heavy modules are imported inside the functions so ``voiceauth --help`` stays fast (PLC0415).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from voiceauth_web import wiring
from voiceauth_web.settings import INFERENCE_BACKENDS, Settings, SettingsError

if TYPE_CHECKING:
    from voiceauth_adapters.evaluation.cache import CachedModel, CachedSpeechDetector
    from voiceauth_adapters.evaluation.trials import Segment
    from voiceauth_adapters.pipeline import Engine
    from voiceauth_core.ports import AudioDecoder, ScoringPolicy, SpoofDetector

__all__ = [
    "DEFAULT_PATTERN",
    "Parts",
    "add_corpus_arguments",
    "backend",
    "engine",
    "parts",
    "progress",
    "segments",
]

DEFAULT_PATTERN = r"^(?P<speaker>[^/_-]+)[/_-]"

#: Corpus files are decoded whole and may outlast ``MAX_AUDIO_DURATION``; the segments cut from
#: them go through the service's quality gate in ``Enroll`` and ``Verify`` as any recording.
_CORPUS_FILE_SECONDS = 3600.0
_CORPUS_FILE_BYTES = 1 << 30
#: The service's own path, one call at a time through the pool: a day of patience offline.
_QUEUE_PATIENCE_S = 86400.0


def add_corpus_arguments(parser: argparse.ArgumentParser, *, protocol: bool = True) -> None:
    """The corpus, how speakers are read from it, the protocol, the cache and the backend."""
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


def backend(args: argparse.Namespace, settings: Settings) -> str:
    """The embedding backend: ``--backend``, else ``VOICEAUTH_INFERENCE``."""
    chosen: str = args.backend or settings.inference_backend
    return chosen


def segments(args: argparse.Namespace) -> tuple[list[Segment], list[Segment]]:
    """The corpus's enrolment and test segments by ``--protocol`` (halves without one).

    Raises:
        InvalidInputError: No audio file matches, or the pattern has no ``speaker`` group.
    """
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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Parts:
    """The service's decoder, speech detector and model, as a corpus command hears with them.

    Args:
        decoder: The service's decoder, taking whole corpus files.
        detector: The service's speech detector behind an answer cache.
        model: The service's model behind the embedding cache (save it after a run).
    """

    decoder: AudioDecoder
    detector: CachedSpeechDetector
    model: CachedModel


def parts(args: argparse.Namespace, settings: Settings) -> Parts:
    """The service's parts, built by the composition root, the model and detector cached.

    Raises:
        SettingsError: The model files are not provisioned (``voiceauth model fetch``).
    """
    from voiceauth_adapters.evaluation.cache import CachedModel, CachedSpeechDetector
    from voiceauth_adapters.inference import backend_variant
    from voiceauth_adapters.speechbrain import ModelUnavailableError

    chosen = backend(args, settings)
    offline = dataclasses.replace(
        settings,
        inference_backend=chosen,
        inference_workers=1,
        inference_queue_timeout=_QUEUE_PATIENCE_S,
        max_audio_duration=_CORPUS_FILE_SECONDS,
        max_upload_bytes=_CORPUS_FILE_BYTES,
    )
    if chosen == "onnx-int8":
        from voiceauth_adapters.onnx.quantized import require_int8_cpu

        try:
            require_int8_cpu()
        except ModelUnavailableError as exc:  # no model fetch helps: the CPU lacks VNNI
            raise SettingsError(str(exc)) from exc
    try:
        model = wiring.embedding_model(offline, threads=args.threads)
    except ModelUnavailableError as exc:
        raise SettingsError(f"{exc}; run `voiceauth model fetch` first") from exc
    cache = None if args.no_cache else (args.cache or settings.cache_dir / "eval-cache")
    return Parts(
        decoder=wiring.audio_decoder(offline),
        detector=CachedSpeechDetector(wiring.speech_detector()),
        model=CachedModel(model, cache, variant=backend_variant(chosen)),
    )


def engine(
    heard: Parts, policy: ScoringPolicy, settings: Settings, spoof: SpoofDetector | None = None
) -> Engine:
    """The service's engine over the cached model and detector, scoring with ``policy``.

    Speaker accuracy is measured without the synthetic-speech check unless ``spoof`` is given
    (``voiceauth eval --spoof-check``): its step-ups are then counted apart.
    """
    return wiring.engine(
        settings,
        model=heard.model,
        detector=heard.detector,
        policy=policy,
        telephone=wiring.telephone_line(),
        spoof=spoof,
    )


def progress(
    total: int, label: str, *, quiet: bool
) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A progress bar on stderr: its ``update(n)`` and ``close()`` (no-ops when ``quiet``)."""
    if quiet:
        return (lambda n: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="trial", file=sys.stderr, dynamic_ncols=True)
    return bar.update, bar.close
