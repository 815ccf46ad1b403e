"""What a spoof back-end may read of each corpus clip, heard as the service hears a call, cached.

Beside its raw window scores (``scores.py``'s cache, written in the same pass so that the plain
evaluation scores nothing again), each clip keeps: AASIST's last hidden representation averaged
over its windows, the speaker embedding the verification computes of the same speech (ECAPA,
free at run time), and how much of the speech's energy lies above 4 kHz (which a telephone line
removes). The cache is a CSV keyed by the file's SHA-256 with the detector's id, front end and the
speaker model's id (:data:`FEATURE_FIELDS`; vectors ``;``-separated, empty when the clip had too
little speech to assess), appended to as clips are heard, so an interrupted run resumes.
"""

from __future__ import annotations

import csv
import hashlib
import math
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.antispoof.band import FLOOR, high_band_share
from voiceauth_adapters.antispoof.export import HIDDEN_SIZE
from voiceauth_adapters.evaluation.spoof_eval.backend_fit import Featured
from voiceauth_adapters.evaluation.spoof_eval.scores import (
    ClipScore,
    append_row,
    append_score,
    read_scores,
)
from voiceauth_adapters.evaluation.spoof_eval.splits import ScoredClip
from voiceauth_core.errors import AudioProcessingError
from voiceauth_core.ports import AudioDecoder, EmbeddingModel, SpeechDetector
from voiceauth_core.spoofing import MIN_SPOOF_SPEECH_S

if TYPE_CHECKING:
    from voiceauth_adapters.antispoof import AasistDetector

__all__ = ["FEATURE_FIELDS", "ClipFeatures", "feature_clips", "featured_clips", "read_features"]

FEATURE_FIELDS = (
    "sha256",
    "path",
    "detector",
    "front_end",
    "embedding_model",
    "high_band",
    "hidden",
    "embedding",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClipFeatures:
    """One clip's back-end inputs.

    Args:
        sha256: The file's digest.
        path: The clip, relative to the corpus folder (where it was when heard).
        high_band: ``high_band_share`` of its speech.
        hidden: AASIST's hidden representation, the mean over the clip's windows (empty: too
            little speech to assess).
        embedding: The speaker embedding of the same speech (unit length).
    """

    sha256: str
    path: str
    high_band: float
    hidden: npt.NDArray[np.float64]
    embedding: npt.NDArray[np.float64]


def _vector(text: str) -> npt.NDArray[np.float64]:
    return np.array([float(part) for part in text.split(";") if part], dtype=np.float64)


def read_features(
    path: Path, *, detector: str, front_end: str, embedding_model: str
) -> dict[str, ClipFeatures]:
    """The cached features of one detector, front end and speaker model, by file digest."""
    if not path.is_file():
        return {}
    found: dict[str, ClipFeatures] = {}
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if (
                row.get("detector") != detector
                or row.get("front_end") != front_end
                or row.get("embedding_model") != embedding_model
                or not row.get("sha256")
            ):
                continue
            try:
                features = ClipFeatures(
                    sha256=row["sha256"],
                    path=row.get("path") or "",
                    high_band=float(row["high_band"]),
                    hidden=_vector(row.get("hidden") or ""),
                    embedding=_vector(row.get("embedding") or ""),
                )
            except (KeyError, ValueError):
                continue  # a line cut short by an interrupted run: heard again
            if features.hidden.size in (0, HIDDEN_SIZE) and None not in row:
                found[row["sha256"]] = features
    return found


def _append_features(
    path: Path, features: ClipFeatures, *, detector: str, front_end: str, embedding_model: str
) -> None:
    append_row(
        path,
        FEATURE_FIELDS,
        (
            features.sha256,
            features.path,
            detector,
            front_end,
            embedding_model,
            f"{features.high_band:.6g}",
            ";".join(f"{value:.6g}" for value in features.hidden),
            ";".join(f"{value:.6g}" for value in features.embedding),
        ),
    )


async def feature_clips(
    corpus: Path,
    paths: Iterable[str],
    *,
    decoder: AudioDecoder,
    speech_detector: SpeechDetector,
    detector: AasistDetector,
    model: EmbeddingModel,
    cache: Path,
    score_cache: Path,
    progress: Callable[[int], None] | None = None,
) -> dict[str, ClipFeatures]:
    """The features of every clip in ``paths`` (by path): from ``cache`` when it knows the
    file's content, else heard now (its raw scores appended to ``score_cache`` too).

    Raises:
        AudioProcessingError: A clip cannot be decoded.
        OSError: A clip cannot be read.
    """
    keys = {
        "detector": detector.detector_id,
        "front_end": detector.front_end,
        "embedding_model": model.model_id,
    }
    known = read_features(cache, **keys)
    scored = read_scores(score_cache, detector=detector.detector_id, front_end=detector.front_end)
    found: dict[str, ClipFeatures] = {}
    for relative in dict.fromkeys(paths):
        data = (corpus / relative).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        features = known.get(digest)
        if features is None:
            speech = await speech_detector.speech(await decoder.decode(data))
            windows = (
                detector.hidden(speech.samples) if speech.duration >= MIN_SPOOF_SPEECH_S else []
            )
            try:
                embedding = np.asarray((await model.embed(speech)).vector, dtype=np.float64)
            except AudioProcessingError:  # too short for the speaker model too
                embedding = np.zeros(0)
            features = ClipFeatures(
                sha256=digest,
                path=relative,
                high_band=high_band_share(speech),
                hidden=np.mean([w[3] for w in windows], axis=0) if windows else np.zeros(0),
                embedding=embedding,
            )
            _append_features(cache, features, **keys)
            known[digest] = features
            if digest not in scored:
                score = ClipScore(
                    sha256=digest,
                    path=relative,
                    detector=detector.detector_id,
                    front_end=detector.front_end,
                    speech_seconds=speech.duration,
                    scores=tuple(w[2] for w in windows),
                )
                append_score(score_cache, score)
                scored[digest] = score
        found[relative] = features
        if progress is not None:
            progress(1)
    return found


def featured_clips(
    clips: Iterable[ScoredClip], features: Mapping[str, ClipFeatures]
) -> list[Featured]:
    """The scored clips (by path) with their features; clips without features (or with an
    embedding of another size than most, a line cut short) are left out."""
    sizes = Counter(item.embedding.size for item in features.values() if item.embedding.size)
    size = sizes.most_common(1)[0][0] if sizes else 0
    found = []
    for clip in clips:
        item = features.get(clip.path)
        if item is None or not item.hidden.size or item.embedding.size != size:
            continue
        found.append(
            Featured(
                clip=clip,
                hidden=item.hidden,
                embedding=item.embedding,
                log_high_band=math.log10(max(item.high_band, FLOOR)),
            )
        )
    return found
