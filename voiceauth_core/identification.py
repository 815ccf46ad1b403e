"""Identification (1:N): which enrolled voice the caller's is, and how sure that is for the gallery.

A verification weighs one comparison. An identification makes ``N``, one per enrolled voice, and
the chance that a stranger's voice scores high against *somebody* grows with ``N``. If ``p(s)``
is the chance that one comparison with a stranger scores at least ``s`` (the per-comparison
false-match rate), the chance that at least one of ``N`` does is::

    P(false match | s, N) = 1 - (1 - p(s)) ** N        (about N p(s) while that is small)

``p(s)`` is the upper tail of the impostor scores. It is modelled on the calibrated log-odds
``L`` of the verification score (a Gaussian fitted to impostor comparisons of held-out
speakers, ``OpenSetRule.impostor_mean`` and ``impostor_std``): the calibrated score is made for
the verification's operating point and, read as a likelihood ratio, over-states how often
strangers reach a high score by orders of magnitude in the tail that decides an identification
(see ``docs/accuracy.md``, *Identification*). The best candidate is the match when a
verification against it alone would accept (``threshold``) *and* its false-match probability
in this gallery is at most ``max_false_match``; a candidate's ``confidence`` is
``1 - P(false match)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from voiceauth_core.calibration import logit
from voiceauth_core.embedding import Embedding
from voiceauth_core.errors import InvalidInputError, ModelMismatchError
from voiceauth_core.identity import UserId
from voiceauth_core.scoring import Score
from voiceauth_core.watchlist import WatchlistMatch

__all__ = [
    "Candidate",
    "Identification",
    "IdentificationOutcome",
    "IndexHit",
    "OpenSetRule",
    "check_index_model",
]

# Calibrated scores are kept this far inside (0, 1) before taking log-odds.
_EDGE = 1e-12


def check_index_model(probe: Embedding, model_id: str) -> None:
    """Refuse a probe of another model than the index's.

    Raises:
        ModelMismatchError: The probe was made by another model.
    """
    if probe.model_id != model_id:
        raise ModelMismatchError(
            f"the voiceprint index holds voiceprints of model {model_id!r}, not {probe.model_id!r}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexHit:
    """An enrolled voiceprint close to the probe, as the index found it.

    Args:
        user_id: Whose voiceprint.
        cosine: Cosine similarity of the probe with the voiceprint as recorded, in [-1, 1].
    """

    user_id: UserId
    cosine: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """An enrolled user the caller may be.

    Args:
        user_id: The user.
        score: The verification score of the caller against this user alone (calibrated, raw).
        confidence: ``1 -`` the probability that a stranger's voice, among as many as the
            gallery holds, would score this high against someone: how far this score stands
            out from chance in this gallery.
    """

    user_id: UserId
    score: Score
    confidence: float


class IdentificationOutcome(StrEnum):
    """What an identification concluded."""

    MATCH = "match"
    NO_MATCH = "no_match"
    NOT_ENOUGH_SPEECH = "not_enough_speech"


@dataclass(frozen=True, slots=True, kw_only=True)
class Identification:
    """The outcome of one identification.

    Args:
        outcome: A match, no match (the caller is none of the enrolled, as far as the rule
            can tell), or too little speech to say.
        candidates: The best-scoring enrolled users, best first.
        match: The matched user, or None.
        gallery_size: How many enrolled voiceprints the caller was compared with.
        speech_seconds: Net speech the identification used.
        audio_seconds: Audio heard, speech or not.
        watchlist: The fraud-watchlist entry the caller's voice matched, or None (also None
            when no screen ran).
    """

    outcome: IdentificationOutcome
    candidates: tuple[Candidate, ...]
    match: UserId | None
    gallery_size: int
    speech_seconds: float
    audio_seconds: float
    watchlist: WatchlistMatch | None = None

    @property
    def confidence(self) -> float:
        """The best candidate's confidence (0.0 without candidates)."""
        return self.candidates[0].confidence if self.candidates else 0.0

    @property
    def false_match_probability(self) -> float:
        """The chance that a stranger would score as high as the best candidate against
        someone in this gallery (1.0 without candidates)."""
        return 1.0 - self.confidence


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenSetRule:
    """The open-set decision, corrected for the gallery's size.

    Args:
        threshold: The calibrated score the best candidate must reach, as a verification
            against it alone would (``VOICE_THRESHOLD``).
        max_false_match: The highest probability, given the gallery's size, that a stranger
            would score as high, at which the best candidate is still a match
            (``VOICEAUTH_IDENTIFY_MAX_FALSE_MATCH``).
        impostor_mean: Mean of the calibrated log-odds of impostor comparisons (the service
            reads the fitted value from the shipped parameters).
        impostor_std: Their standard deviation.
    """

    threshold: float = 0.82
    max_false_match: float = 0.01
    # The shipped fit for the calibrated policy (voiceauth_adapters/index/data/open_set.json).
    impostor_mean: float = -4.5
    impostor_std: float = 1.83

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise InvalidInputError("the threshold must lie in [0, 1]")
        if not 0.0 < self.max_false_match < 1.0:
            raise InvalidInputError("the false-match limit lies strictly between 0 and 1")
        if not math.isfinite(self.impostor_mean) or not self.impostor_std > 0.0:
            raise InvalidInputError("the impostor model needs a finite mean and a positive spread")

    def comparison_false_match(self, calibrated: float) -> float:
        """The chance that one comparison with a stranger scores at least ``calibrated``."""
        odds = logit(min(1.0 - _EDGE, max(_EDGE, calibrated)))
        return 0.5 * math.erfc((odds - self.impostor_mean) / (self.impostor_std * math.sqrt(2)))

    def false_match(self, calibrated: float, *, gallery_size: int) -> float:
        """The chance that among ``gallery_size`` strangers at least one scores ``calibrated``.

        Raises:
            InvalidInputError: The gallery is empty.
        """
        if gallery_size < 1:
            raise InvalidInputError("a gallery holds at least one voice")
        each = self.comparison_false_match(calibrated)
        if each >= 1.0:
            return 1.0
        return -math.expm1(gallery_size * math.log1p(-each))

    def matches(self, calibrated: float, *, gallery_size: int) -> bool:
        """Whether a best candidate with this calibrated score is a match in this gallery."""
        return calibrated >= self.threshold and (
            self.false_match(calibrated, gallery_size=gallery_size) <= self.max_false_match
        )
