"""The real pipeline's builders: one function per adapter, and the use cases over an ``Engine``.

These are the functions every entry point builds with: the service's composition root
(``voiceauth_web.wiring``, which reads them their arguments from ``Settings``), the CLI, the eval
tool, and library users through ``local_pipeline()``. A port added to :class:`Engine` reaches
``Enroll`` and ``Verify`` everywhere through :func:`enroll_use_case` and :func:`verify_use_case`.
Nothing here touches a network: the model files must have been fetched (``voiceauth model
fetch``). Adapters are imported inside the builders, so importing this module is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from voiceauth_core.quality import QualityGate
from voiceauth_core.spoof_gate import SpoofGate
from voiceauth_core.use_cases import CapturePlan, Enroll, Identify, Verify

if TYPE_CHECKING:
    from datetime import timedelta

    from voiceauth_adapters.audio import FfmpegSoundfileDecoder, FileAudioSource
    from voiceauth_adapters.inference import BoundedInferencePool, WorkerPool
    from voiceauth_core.identification import OpenSetRule
    from voiceauth_core.ports import (
        AttemptLog,
        AudioDecoder,
        Clock,
        EmbeddingModel,
        ScoringPolicy,
        SpeechDetector,
        SpoofDetector,
        TelephoneChannel,
        UserRepository,
        VoiceprintIndex,
    )
    from voiceauth_core.watchlist import WatchlistScreen

__all__ = [
    "Engine",
    "LocalPipeline",
    "audio_decoder",
    "default_cache_dir",
    "embedding_model",
    "enroll_use_case",
    "identify_use_case",
    "local_pipeline",
    "scoring_policy",
    "speech_detector",
    "spoof_detector",
    "telephone_line",
    "verify_use_case",
]


def default_cache_dir() -> Path:
    """Where the model files and exports are cached when no directory is given."""
    return Path.home() / ".cache" / "voiceauth"


def embedding_model(
    *,
    backend: str | None = None,
    model_dir: Path | None = None,
    cache_dir: Path | None = None,
    threads: int = 0,
    workers: int = 0,
    queue_timeout: float = 10.0,
    nice: int = 0,
) -> BoundedInferencePool:
    """The verified ECAPA-TDNN model on ``backend``, behind the bounded inference pool.

    Args:
        backend: ``onnx`` (the default), ``onnx-int8`` or ``speechbrain``.
        model_dir: The model files (else the cache, where ``voiceauth model fetch`` put them).
        cache_dir: The cache (model files, ONNX exports).
        threads: Inference threads per call (0: one per core).
        workers: Inferences at once (0: one per core).
        queue_timeout: How long a call may wait for a worker before ``ServiceBusyError``.
        nice: Added to the worker threads' niceness (the event loop wins a busy CPU).

    Raises:
        ModelUnavailableError: The files are missing or fail their SHA-256 check (never downloads).
    """
    from voiceauth_adapters.inference import (  # noqa: PLC0415
        DEFAULT_BACKEND,
        BoundedInferencePool,
        load_embedder,
    )
    from voiceauth_adapters.speechbrain import resolve_model  # noqa: PLC0415

    cache = cache_dir or default_cache_dir()
    resolved = resolve_model(model_dir=model_dir, cache_dir=cache, allow_download=False)
    embedder = load_embedder(
        backend or DEFAULT_BACKEND, resolved.directory, cache_dir=cache, threads=threads
    )
    return BoundedInferencePool(embedder, workers=workers, queue_timeout=queue_timeout, nice=nice)


def speech_detector() -> SpeechDetector:
    """Silero VAD, the service's speech detector."""
    from voiceauth_adapters.vad import SileroSpeechDetector  # noqa: PLC0415

    return SileroSpeechDetector()


def telephone_line() -> TelephoneChannel:
    """The simulated G.711 line each enrolment sample is also heard through."""
    from voiceauth_adapters.audio import G711Line  # noqa: PLC0415

    return G711Line()


def audio_decoder(
    *, max_bytes: int = 25 * 1024 * 1024, max_seconds: float = 30.0
) -> FfmpegSoundfileDecoder:
    """The decoder of uploads and files (soundfile, then ffmpeg), refusing what is too long."""
    from voiceauth_adapters.audio import AudioDecoderLimits, FfmpegSoundfileDecoder  # noqa: PLC0415

    return FfmpegSoundfileDecoder(AudioDecoderLimits(max_bytes=max_bytes, max_seconds=max_seconds))


def spoof_detector(
    *,
    cache_dir: Path | None = None,
    threads: int = 1,
    calibration_path: Path | None = None,
    workers: WorkerPool | None = None,
) -> SpoofDetector:
    """AASIST, the synthetic-speech countermeasure, with the shipped (or given) calibration.

    A calibration of the back-end's scores (its detector id names the back-end) brings the
    shipped back-end (``antispoof.backend``); one of the bare network's scores, none.

    Args:
        cache_dir: The cache holding the verified weights and their ONNX export.
        threads: onnxruntime threads per assessment.
        calibration_path: Another calibration than the shipped one (``voiceauth eval --spoof
            --write-calibration``).
        workers: The pool its computations share with the speaker model (``embedding_model``'s
            ``worker_pool``); None: a thread of its own per assessment.

    Raises:
        ModelUnavailableError: The weights are missing or fail their SHA-256 check (never
            downloads), or no calibration (or back-end) can be read.
        ModelMismatchError: The calibration is of neither the network's scores nor the
            shipped back-end's.
    """
    from voiceauth_adapters.antispoof import (  # noqa: PLC0415
        DETECTOR_ID,
        AasistDetector,
        export_dir_for,
        read_calibration,
        resolve_weights,
        shipped_backend,
        shipped_calibration,
    )

    cache = cache_dir or default_cache_dir()
    calibration = (
        shipped_calibration() if calibration_path is None else read_calibration(calibration_path)
    )
    backend = None if calibration.detector_id == DETECTOR_ID else shipped_backend()
    weights, _ = resolve_weights(cache_dir=cache, allow_download=False)
    return AasistDetector.load(
        weights,
        export_dir=export_dir_for(weights, cache),
        calibration=calibration,
        threads=threads,
        workers=workers,
        backend=backend,
    )


def scoring_policy(
    *,
    scoring: str = "calibrated",
    threshold: float,
    model_id: str,
    cohort_path: Path | None = None,
    calibration_path: Path | None = None,
) -> ScoringPolicy:
    """``calibrated`` (AS-norm and the shipped calibration) or ``cosine`` (the original rule).

    Args:
        scoring: ``calibrated`` or ``cosine``.
        threshold: Accept at or above this score.
        model_id: The running model's id (the cohort must have been made with it).
        cohort_path: Another cohort than the shipped one (``voiceauth cohort build``).
        calibration_path: Another calibration than the shipped one (``voiceauth cohort
            calibrate``).

    Raises:
        InvalidInputError: A cohort or calibration file is missing or malformed.
        ModelMismatchError: The cohort was made with another model than ``model_id``.
    """
    if scoring == "cosine":
        from voiceauth_core.scoring import CosinePolicy  # noqa: PLC0415

        return CosinePolicy(threshold=threshold)
    from voiceauth_adapters.cohort import load_calibrated_policy  # noqa: PLC0415

    return load_calibrated_policy(
        threshold=threshold,
        model_id=model_id,
        cohort_path=cohort_path,
        calibration_path=calibration_path,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Engine:
    """The ports that hear, embed and score a voice, shared by every use case.

    Args:
        model: Embeds speech.
        detector: Finds speech.
        policy: Scores a probe against an enrolment and decides.
        telephone: The simulated line enrolments are also heard through (None: no phone-band
            voiceprint, as enrolments made before it had).
        spoof: The synthetic-speech countermeasure (None: no spoof check, every matching voice
            is accepted).
        spoof_gate: When its assessment turns an accept into a step-up.
    """

    model: EmbeddingModel
    detector: SpeechDetector
    policy: ScoringPolicy
    telephone: TelephoneChannel | None
    spoof: SpoofDetector | None = None
    spoof_gate: SpoofGate = field(default_factory=SpoofGate)


def enroll_use_case(
    engine: Engine,
    *,
    users: UserRepository,
    clock: Clock,
    gate: QualityGate,
    screen: WatchlistScreen | None = None,
) -> Enroll:
    """``Enroll`` over ``engine``: the one place its ports are chosen (``screen``: the fraud
    watchlist's, which the service passes)."""
    return Enroll(
        screen=screen,
        model=engine.model,
        detector=engine.detector,
        telephone=engine.telephone,
        spoof=engine.spoof,
        spoof_gate=engine.spoof_gate,
        users=users,
        clock=clock,
        gate=gate,
    )


def verify_use_case(
    engine: Engine,
    *,
    users: UserRepository,
    attempts: AttemptLog,
    clock: Clock,
    gate: QualityGate,
    plan: CapturePlan,
    screen: WatchlistScreen | None = None,
    probe_retention: timedelta | None = None,
) -> Verify:
    """``Verify`` over ``engine``: the one place its ports are chosen (``screen`` and
    ``probe_retention``: the fraud watchlist's, which the service passes)."""
    return Verify(
        screen=screen,
        probe_retention=probe_retention,
        model=engine.model,
        detector=engine.detector,
        policy=engine.policy,
        spoof=engine.spoof,
        spoof_gate=engine.spoof_gate,
        users=users,
        attempts=attempts,
        clock=clock,
        gate=gate,
        plan=plan,
    )


def identify_use_case(
    engine: Engine,
    *,
    users: UserRepository,
    index: VoiceprintIndex,
    rule: OpenSetRule,
    gate: QualityGate,
    plan: CapturePlan,
    screen: WatchlistScreen | None = None,
) -> Identify:
    """``Identify`` over ``engine``: the one place its ports are chosen."""
    return Identify(
        model=engine.model,
        detector=engine.detector,
        policy=engine.policy,
        users=users,
        index=index,
        rule=rule,
        gate=gate,
        plan=plan,
        screen=screen,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalPipeline:
    """The service's adapters, loaded: build ``Enroll`` and ``Verify`` over your own stores."""

    engine: Engine
    decoder: AudioDecoder
    gate: QualityGate
    plan: CapturePlan

    @property
    def model(self) -> EmbeddingModel:
        """The embedding model."""
        return self.engine.model

    @property
    def detector(self) -> SpeechDetector:
        """The speech detector."""
        return self.engine.detector

    @property
    def policy(self) -> ScoringPolicy:
        """The scoring policy."""
        return self.engine.policy

    def file(self, path: Path | str) -> FileAudioSource:
        """A local audio file as a source for ``Enroll`` and ``Verify``."""
        from voiceauth_adapters.audio import FileAudioSource  # noqa: PLC0415

        return FileAudioSource(path, self.decoder)

    def enroll(self, *, users: UserRepository, clock: Clock) -> Enroll:
        """``Enroll`` over this pipeline and ``users``."""
        return enroll_use_case(self.engine, users=users, clock=clock, gate=self.gate)

    def verify(self, *, users: UserRepository, attempts: AttemptLog, clock: Clock) -> Verify:
        """``Verify`` over this pipeline, ``users`` and ``attempts``."""
        return verify_use_case(
            self.engine, users=users, attempts=attempts, clock=clock, gate=self.gate, plan=self.plan
        )

    def close(self) -> None:
        """Stop the model's inference threads."""
        close = getattr(self.engine.model, "close", None)
        if close is not None:
            close()


def local_pipeline(
    *,
    model_dir: Path | None = None,
    cache_dir: Path | None = None,
    backend: str | None = None,
    threshold: float = 0.82,
    threads: int = 0,
    max_seconds: float = 30.0,
    spoof_check: bool = True,
) -> LocalPipeline:
    """Load the service's pipeline with its defaults (``onnx``, calibrated scoring, G.711 twin,
    the synthetic-speech check with its default ``SpoofGate``).

    Raises:
        ModelUnavailableError: The model files are missing or fail their SHA-256 check.
    """
    model = embedding_model(
        backend=backend, model_dir=model_dir, cache_dir=cache_dir, threads=threads
    )
    engine = Engine(
        model=model,
        detector=speech_detector(),
        policy=scoring_policy(threshold=threshold, model_id=model.model_id),
        telephone=telephone_line(),
        spoof=(
            spoof_detector(cache_dir=cache_dir, workers=model.worker_pool) if spoof_check else None
        ),
    )
    return LocalPipeline(
        engine=engine,
        decoder=audio_decoder(max_seconds=max_seconds),
        gate=QualityGate(max_duration_s=max_seconds),
        plan=CapturePlan(max_audio_s=max_seconds),
    )
