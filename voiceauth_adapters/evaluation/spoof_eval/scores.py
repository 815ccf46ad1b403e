"""Raw countermeasure scores of a spoof corpus, heard as the service hears a call, cached in a CSV.

Each clip is decoded by the service's decoder, trimmed to its speech by the service's speech
detector and assessed by the countermeasure; its window scores are kept under the SHA-256 of the
file with the detector's id and front end, so a clip is scored once per detector however often
(and from wherever) it is evaluated, and a rebuilt clip is scored again. The cache is a CSV
(:data:`SCORE_FIELDS`; scores ``;``-separated, none when the clip had too little speech)
appended to as clips are scored, so an interrupted run resumes.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from voiceauth_core.audio import Audio
from voiceauth_core.errors import AudioProcessingError, InvalidInputError
from voiceauth_core.ports import AudioDecoder, SpeechDetector, SpoofDetector
from voiceauth_core.spoofing import SpoofCalibration

if TYPE_CHECKING:
    from voiceauth_adapters.antispoof import AasistDetector

__all__ = [
    "SCORE_FIELDS",
    "ClipScore",
    "Prepare",
    "append_row",
    "append_score",
    "raw_detector",
    "read_manifest",
    "read_scores",
    "score_clips",
]

SCORE_FIELDS = ("sha256", "path", "detector", "front_end", "speech_seconds", "scores")

#: A change made to the trimmed speech before the detector hears it (an experiment's front end).
Prepare = Callable[[Audio], Audio]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClipScore:
    """One clip's countermeasure scores.

    Args:
        sha256: The file's digest: what the cache knows it by.
        path: The clip, relative to the corpus folder (where it was when scored).
        detector: The detector's id.
        front_end: What was done to the speech before the network (the detector's own level
            normalisation, ``none``, or an experiment's).
        speech_seconds: Net speech the speech detector found.
        scores: The raw window scores; empty when there was too little speech to assess.
    """

    sha256: str
    path: str
    detector: str
    front_end: str
    speech_seconds: float
    scores: tuple[float, ...]

    @property
    def assessed(self) -> bool:
        """Whether the detector could assess the clip."""
        return bool(self.scores)

    @property
    def combined(self) -> float:
        """The mean window score, as ``SpoofAssessment.combined`` (NaN when not assessed)."""
        if not self.scores:
            return math.nan
        return math.fsum(score / len(self.scores) for score in self.scores)


def read_manifest(corpus: Path) -> list[dict[str, str]]:
    """The rows of ``corpus/manifest.csv`` (see ``spoof_corpus.MANIFEST_FIELDS``).

    Raises:
        InvalidInputError: There is no manifest, or it lacks a column.
    """
    from voiceauth_adapters.evaluation.spoof_corpus import MANIFEST_FIELDS  # noqa: PLC0415

    path = corpus / "manifest.csv"
    if not path.is_file():
        raise InvalidInputError(
            f"{path} is missing: build the corpus with `voiceauth spoof-corpus`"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = set(MANIFEST_FIELDS) - set(reader.fieldnames or ())
        if missing:
            raise InvalidInputError(f"{path} lacks {', '.join(sorted(missing))}")
        return list(reader)


def read_scores(path: Path, *, detector: str, front_end: str) -> dict[str, ClipScore]:
    """The cached scores of one detector and front end, by file digest (none if no file)."""
    if not path.is_file():
        return {}
    found: dict[str, ClipScore] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("detector") != detector or row.get("front_end") != front_end:
                continue
            text = row.get("scores") or ""
            try:
                scores = tuple(float(part) for part in text.split(";") if part)
                seconds = float(row["speech_seconds"])
            except (KeyError, ValueError):
                continue  # a line cut short by an interrupted run: scored again
            if not row.get("sha256"):
                continue
            found[row["sha256"]] = ClipScore(
                sha256=row["sha256"],
                path=row.get("path") or "",
                detector=detector,
                front_end=front_end,
                speech_seconds=seconds,
                scores=scores,
            )
    return found


def append_row(path: Path, header: Sequence[str], row: Sequence[object]) -> None:
    """Append ``row`` to the CSV cache at ``path``, writing ``header`` first into a new one."""
    new = not path.is_file() or path.stat().st_size == 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(header)
        writer.writerow(row)


def append_score(path: Path, score: ClipScore) -> None:
    """Append one clip's window scores to the score cache at ``path``."""
    append_row(
        path,
        SCORE_FIELDS,
        (
            score.sha256,
            score.path,
            score.detector,
            score.front_end,
            f"{score.speech_seconds:.3f}",
            ";".join(repr(value) for value in score.scores),
        ),
    )


async def _score_one(
    data: bytes,
    relative: str,
    *,
    decoder: AudioDecoder,
    speech_detector: SpeechDetector,
    spoof: SpoofDetector,
    front_end: str,
    prepare: Prepare | None,
) -> ClipScore:
    audio = await decoder.decode(data)
    speech = await speech_detector.speech(audio)
    heard = speech if prepare is None else prepare(speech)
    try:
        assessment = await spoof.assess(heard)
    except AudioProcessingError as exc:
        if exc.reason != "too_short":
            raise
        scores: tuple[float, ...] = ()
    else:
        scores = assessment.scores
    return ClipScore(
        sha256=hashlib.sha256(data).hexdigest(),
        path=relative,
        detector=spoof.detector_id,
        front_end=front_end,
        speech_seconds=speech.duration,
        scores=scores,
    )


async def score_clips(
    corpus: Path,
    paths: Iterable[str],
    *,
    decoder: AudioDecoder,
    speech_detector: SpeechDetector,
    spoof: SpoofDetector,
    cache: Path,
    front_end: str,
    prepare: Prepare | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, ClipScore]:
    """The scores of every clip in ``paths`` (by path): from ``cache`` when it knows the file's
    content, else scored now and appended.

    Args:
        corpus: The corpus folder.
        paths: Clips relative to it.
        decoder: The service's decoder.
        speech_detector: The service's speech detector (the assessment hears only speech).
        spoof: The countermeasure; its calibration does not matter here, only raw scores.
        cache: The score CSV.
        front_end: Names what happens before the network, in the cache: the detector's own
            ``front_end``, or the experiment's ``prepare``.
        prepare: An experimental change to the speech before the detector, or None.
        progress: Called with 1 after each clip, cached or not.

    Raises:
        AudioProcessingError: A clip cannot be decoded.
        OSError: A clip cannot be read.
    """
    wanted: Sequence[str] = list(dict.fromkeys(paths))
    known = read_scores(cache, detector=spoof.detector_id, front_end=front_end)
    found: dict[str, ClipScore] = {}
    for relative in wanted:
        data = (corpus / relative).read_bytes()
        score = known.get(hashlib.sha256(data).hexdigest())
        if score is None:
            score = await _score_one(
                data,
                relative,
                decoder=decoder,
                speech_detector=speech_detector,
                spoof=spoof,
                front_end=front_end,
                prepare=prepare,
            )
            append_score(cache, score)
            known[score.sha256] = score
        found[relative] = score
        if progress is not None:
            progress(1)
    return found


def raw_detector(cache_dir: Path, *, threads: int = 1, level: bool = True) -> AasistDetector:
    """AASIST with a placeholder calibration: only its raw scores are used here.

    Args:
        cache_dir: The cache holding the verified weights and their export.
        threads: onnxruntime threads.
        level: Whether it sets speech to its level first, as the service's does (False: as it
            did before, for the before/after comparison).

    Raises:
        ModelUnavailableError: The weights are missing (``voiceauth model fetch``).
    """
    from voiceauth_adapters.antispoof import (  # noqa: PLC0415 - onnxruntime, on demand
        DETECTOR_ID,
        AasistDetector,
        export_dir_for,
        resolve_weights,
    )
    from voiceauth_adapters.antispoof.detector import SPEECH_LEVEL_DBFS  # noqa: PLC0415

    weights, _ = resolve_weights(cache_dir=cache_dir, allow_download=False)
    return AasistDetector.load(
        weights,
        export_dir=export_dir_for(weights, cache_dir),
        calibration=SpoofCalibration(scale=1.0, offset=0.0, detector_id=DETECTOR_ID),
        threads=threads,
        level_dbfs=SPEECH_LEVEL_DBFS if level else None,
    )
