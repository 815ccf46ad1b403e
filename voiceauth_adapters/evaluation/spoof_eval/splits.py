"""Who and what fits, who and what is evaluated: speaker-disjoint halves, one family held out.

Bona fide speakers are split in halves per corpus (LibriSpeech 30/30, FSDD 3/3), by a seeded
hash of their label, so the split does not depend on the order files were listed in. A replay
belongs to the person it replays. Synthetic voices are no one's: their clips are split by what
they say (the texts in halves), so no sentence a synthesiser spoke in the fit set is heard again
in evaluation. Each fold then holds one spoof family out: it is fitted on the fit halves of
every other family and evaluated on the evaluation half of the held-out one.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from voiceauth_core.errors import InvalidInputError

__all__ = [
    "BONAFIDE",
    "SPOOF",
    "Fold",
    "ScoredClip",
    "Split",
    "folds",
    "halves",
    "scored_clips",
    "split_corpus",
]

BONAFIDE = "bonafide"
SPOOF = "spoof"
#: The family of replayed genuine speech (it follows the speaker it replays).
REPLAY = "replay"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoredClip:
    """One clip of the corpus with its raw countermeasure score.

    Args:
        path: The clip, relative to the corpus.
        label: ``bonafide`` or ``spoof``.
        family: The corpus (bona fide), the synthesiser family, or ``replay``.
        speaker: The person (``corpus:id``; for a replay, the person replayed) or the voice.
        channel: How it was heard (``clean``, ``g711``, ...).
        text_id: What is said.
        raw: The mean window score.
        speech_seconds: Net speech the detector heard.
    """

    path: str
    label: str
    family: str
    speaker: str
    channel: str
    text_id: str
    raw: float
    speech_seconds: float

    @property
    def person(self) -> str | None:
        """The real person whose voice this is (a replay's too), or None for synthetic speech."""
        if self.label == BONAFIDE or self.family == REPLAY:
            return self.speaker
        return None


def scored_clips(
    rows: Iterable[Mapping[str, str]], raw: Mapping[str, tuple[float, float]]
) -> list[ScoredClip]:
    """The manifest's rows joined with their ``(raw score, speech seconds)`` by path; clips
    without a score (too little speech to assess) are left out."""
    clips = []
    for row in rows:
        found = raw.get(row["path"])
        if found is None or not math.isfinite(found[0]):
            continue
        clips.append(
            ScoredClip(
                path=row["path"],
                label=row["label"],
                family=row["family"],
                speaker=row["speaker"],
                channel=row["channel"],
                text_id=row["text_id"],
                raw=found[0],
                speech_seconds=found[1],
            )
        )
    return clips


def _rank(seed: int, name: str) -> str:
    return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()


def halves(names: Iterable[str], *, seed: int) -> tuple[frozenset[str], frozenset[str]]:
    """``names`` in two halves by a seeded hash, grouped by the prefix before ``:`` (a corpus),
    so each group is split evenly; an odd group gives its extra one to the evaluation half."""
    groups: dict[str, list[str]] = defaultdict(list)
    for name in set(names):
        groups[name.partition(":")[0] if ":" in name else ""].append(name)
    fit: set[str] = set()
    held: set[str] = set()
    for members in groups.values():
        ordered = sorted(members, key=lambda name: _rank(seed, name))
        fit.update(ordered[: len(ordered) // 2])
        held.update(ordered[len(ordered) // 2 :])
    return frozenset(fit), frozenset(held)


@dataclass(frozen=True, slots=True, kw_only=True)
class Split:
    """The two sides of the corpus.

    Args:
        fit_speakers: Bona fide speakers whose clips (and replays) may fit.
        eval_speakers: Bona fide speakers only evaluated.
        fit_texts: Synthetic texts whose clips may fit.
        eval_texts: Synthetic texts only evaluated.
    """

    fit_speakers: frozenset[str]
    eval_speakers: frozenset[str]
    fit_texts: frozenset[str]
    eval_texts: frozenset[str]

    def side(self, clip: ScoredClip) -> str:
        """``fit`` or ``eval``: where ``clip`` belongs."""
        person = clip.person
        if person is not None:
            return "fit" if person in self.fit_speakers else "eval"
        return "fit" if clip.text_id in self.fit_texts else "eval"


def split_corpus(clips: Sequence[ScoredClip], *, seed: int = 0) -> Split:
    """Speaker halves per corpus and synthetic-text halves (see the module's docstring).

    Raises:
        InvalidInputError: Fewer than two bona fide speakers in some corpus, so one side would
            have none of it.
    """
    speakers = {clip.speaker for clip in clips if clip.label == BONAFIDE}
    fit_speakers, eval_speakers = halves(speakers, seed=seed)
    if not fit_speakers or not eval_speakers:
        raise InvalidInputError("a speaker-disjoint split needs two bona fide speakers at least")
    texts = {clip.text_id for clip in clips if clip.person is None}
    fit_texts, eval_texts = halves(texts, seed=seed)
    return Split(
        fit_speakers=fit_speakers,
        eval_speakers=eval_speakers,
        fit_texts=fit_texts,
        eval_texts=eval_texts,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Fold:
    """One leave-one-family-out fold.

    Args:
        held_out: The spoof family never seen in fitting (None: every family is fitted, for
            the shipped fit).
        fit: Bona fide clips of the fit speakers and spoofs of the other families' fit halves.
        evaluation: Bona fide clips of the evaluation speakers and the held-out family's
            evaluation half (every family's, when none is held out).
    """

    held_out: str | None
    fit: tuple[ScoredClip, ...]
    evaluation: tuple[ScoredClip, ...]

    @property
    def fit_families(self) -> tuple[str, ...]:
        """The spoof families the fit saw."""
        return tuple(sorted({clip.family for clip in self.fit if clip.label == SPOOF}))


def _fold(clips: Sequence[ScoredClip], split: Split, held_out: str | None) -> Fold:
    fit: list[ScoredClip] = []
    evaluation: list[ScoredClip] = []
    for clip in clips:
        side = split.side(clip)
        if clip.label == BONAFIDE:
            (fit if side == "fit" else evaluation).append(clip)
        elif clip.family == held_out or held_out is None:
            if side == "eval":
                evaluation.append(clip)
            elif held_out is None:
                fit.append(clip)
        elif side == "fit":
            fit.append(clip)
    return Fold(held_out=held_out, fit=tuple(fit), evaluation=tuple(evaluation))


def folds(clips: Sequence[ScoredClip], split: Split) -> tuple[list[Fold], Fold]:
    """One fold per spoof family, and the all-families fold the shipped calibration is fitted
    on (its evaluation side: every family's evaluation half)."""
    families = sorted({clip.family for clip in clips if clip.label == SPOOF})
    return [_fold(clips, split, family) for family in families], _fold(clips, split, None)
