"""The real audio pipeline in one call, for library users and the command line.

``local_pipeline()`` loads what the service uses (decoder, speech detector, ECAPA-TDNN model and
the calibrated scoring policy) from the verified local model files; nothing touches a network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voiceauth_adapters.audio import AudioDecoderLimits, FfmpegSoundfileDecoder, FileAudioSource
from voiceauth_adapters.speechbrain import SpeechBrainEcapa, resolve_model
from voiceauth_adapters.vad import SileroSpeechDetector
from voiceauth_core.ports import ScoringPolicy

__all__ = ["LocalPipeline", "local_pipeline"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalPipeline:
    """The service's adapters, loaded."""

    model: SpeechBrainEcapa
    detector: SileroSpeechDetector
    decoder: FfmpegSoundfileDecoder
    policy: ScoringPolicy

    def file(self, path: Path | str) -> FileAudioSource:
        """A local audio file as a source for ``Enroll`` and ``Verify``."""
        return FileAudioSource(path, self.decoder)


def local_pipeline(
    *,
    model_dir: Path | None = None,
    cache_dir: Path | None = None,
    threshold: float = 0.82,
    threads: int = 0,
    max_seconds: float = 30.0,
) -> LocalPipeline:
    """Load the pipeline; the model files must have been fetched (``voiceauth model fetch``).

    Raises:
        ModelUnavailableError: The model files are missing or fail their SHA-256 check.
    """
    from voiceauth_adapters.cohort import load_calibrated_policy  # noqa: PLC0415

    cache = cache_dir or Path.home() / ".cache" / "voiceauth"
    resolved = resolve_model(model_dir=model_dir, cache_dir=cache, allow_download=False)
    model = SpeechBrainEcapa.load(resolved.directory, threads=threads)
    return LocalPipeline(
        model=model,
        detector=SileroSpeechDetector(),
        decoder=FfmpegSoundfileDecoder(AudioDecoderLimits(max_seconds=max_seconds)),
        policy=load_calibrated_policy(threshold=threshold, model_id=model.model_id),
    )
