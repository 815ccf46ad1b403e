"""Score normalisation (AS-norm) and calibration: a cosine turned into a trustworthy [0, 1] score.

The raw cosine of two ECAPA embeddings means different things on different channels: over a
telephone line every voice sounds more alike, so impostors score higher. Adaptive symmetric
normalisation (AS-norm) measures how a score stands out from the scores of the same two
embeddings against an impostor cohort; a logistic calibration then maps the normalised score and
the amount of speech to log-odds of "same speaker", and a sigmoid to [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceauth_core.attempt import Decision
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment
from voiceauth_core.errors import InvalidInputError, ModelMismatchError
from voiceauth_core.scoring import Score, _check_threshold

__all__ = [
    "AsNorm",
    "BandEstimator",
    "CalibratedPolicy",
    "Calibration",
    "Cohort",
    "fit_calibration",
    "logit",
    "sigmoid",
]

Matrix = npt.NDArray[np.float64]

# Keeps the standard deviation of cohort scores away from zero (a degenerate cohort).
_MIN_STD = 1e-3
# Bounds on log-odds so the sigmoid never rounds to exactly 0 or 1.
_MAX_LOG_ODDS = 30.0


def sigmoid(value: float) -> float:
    """The logistic function, numerically safe for any finite value."""
    clipped = min(_MAX_LOG_ODDS, max(-_MAX_LOG_ODDS, value))
    return 1.0 / (1.0 + math.exp(-clipped))


def logit(probability: float) -> float:
    """The inverse of :func:`sigmoid` (log-odds) for a probability in (0, 1)."""
    if not 0.0 < probability < 1.0:
        raise InvalidInputError("log-odds need a probability strictly between 0 and 1")
    return math.log(probability / (1.0 - probability))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Cohort:
    """Impostor embeddings that scores are normalised against.

    Args:
        embeddings: One unit-length embedding per row (read-only once made).
        model_id: The model that made them; only its embeddings can be normalised with them.
    """

    embeddings: Matrix
    model_id: str

    def __post_init__(self) -> None:
        matrix = np.array(self.embeddings, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] < 2 or matrix.shape[1] == 0:
            raise InvalidInputError("a cohort is a matrix of at least two embeddings")
        if not np.all(np.isfinite(matrix)):
            raise InvalidInputError("a cohort's embeddings must be finite")
        norms = np.linalg.norm(matrix, axis=1)
        if np.any(norms < 1e-12):
            raise InvalidInputError("a cohort must not hold zero vectors")
        matrix = matrix / norms[:, None]
        matrix.setflags(write=False)
        object.__setattr__(self, "embeddings", matrix)

    @property
    def size(self) -> int:
        """The number of cohort embeddings."""
        return int(self.embeddings.shape[0])

    def check_compatible(self, embedding: Embedding) -> None:
        """Refuse an embedding of another model than the cohort's.

        Raises:
            ModelMismatchError: The model ids or dimensions differ.
        """
        if embedding.model_id != self.model_id or embedding.dimension != self.embeddings.shape[1]:
            raise ModelMismatchError(
                f"the score cohort was made with model {self.model_id!r}, not "
                f"{embedding.model_id!r}; rebuild it with `voiceauth cohort build`"
            )

    def top_stats(self, embedding: Embedding, top_k: int) -> tuple[float, float]:
        """Mean and standard deviation of the ``top_k`` highest cosines of ``embedding``.

        Raises:
            ModelMismatchError: The embedding comes from another model.
        """
        self.check_compatible(embedding)
        scores = self.embeddings @ embedding.vector
        k = min(top_k, scores.size)
        top = np.partition(scores, scores.size - k)[scores.size - k :]
        return float(top.mean()), max(float(top.std()), _MIN_STD)


@dataclass(frozen=True, slots=True, kw_only=True)
class AsNorm:
    """Adaptive symmetric score normalisation (Cumani et al. 2011; Matejka et al. 2017).

    With ``scale=True`` (classic AS-norm)
    ``s' = ((s - mu_e) / sigma_e + (s - mu_p) / sigma_p) / 2``,
    where ``mu``, ``sigma`` are the mean and deviation of the ``top_k`` closest cohort scores of
    the enrolment (``e``) and of the probe (``p``). With ``scale=False`` only the adaptive means
    are removed: ``s' = s - (mu_e + mu_p) / 2``. Dividing by ``sigma`` inflates every score of
    a voice that is far from the whole cohort (another corpus, short telephone digits), where
    the top-k deviation is small; the shipped policy measures better without it (see
    ``docs/accuracy.md``). Either way it is an increasing affine function of the raw cosine for
    a given pair.

    Args:
        cohort: The impostor cohort.
        top_k: How many closest cohort members each side is compared with.
        scale: Also divide by the top-k deviations (classic AS-norm).
    """

    cohort: Cohort
    top_k: int = 100
    scale: bool = True

    def __post_init__(self) -> None:
        if self.top_k < 2:
            raise InvalidInputError("AS-norm needs top_k of at least 2")

    def normalise(self, enrollment: Embedding, probe: Embedding, raw: float) -> float:
        """The normalised score of a raw cosine between ``enrollment`` and ``probe``."""
        mu_e, sigma_e = self.cohort.top_stats(enrollment, self.top_k)
        mu_p, sigma_p = self.cohort.top_stats(probe, self.top_k)
        if not self.scale:
            return raw - 0.5 * (mu_e + mu_p)
        return 0.5 * ((raw - mu_e) / sigma_e + (raw - mu_p) / sigma_p)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BandEstimator:
    """How much an embedding sounds like telephone audio, from the embedding alone.

    ECAPA embeddings carry the channel. The cohort holds each recording twice, wide-band and
    through a simulated phone line, so the mean difference of the two (``direction``) points
    from "wide-band" to "telephone" with the speakers cancelled out. The band score is an
    embedding's projection on it; a logistic around ``centre`` squashes it to a phone-likeness
    in [0, 1]. Enrolling on a good microphone and verifying over a phone line lowers every
    score; the calibration uses the difference of the two sides' phone-likeness (the mismatch)
    to correct for it.

    Args:
        direction: Unit vector from wide-band towards phone-band embeddings.
        model_id: The model whose embeddings it applies to.
        centre: Band score at which phone-likeness is one half.
        width: Band-score change that moves phone-likeness by one unit of log-odds.
    """

    direction: npt.NDArray[np.float64]
    model_id: str
    centre: float = 0.0
    width: float = 1.0

    def __post_init__(self) -> None:
        vector = np.array(self.direction, dtype=np.float64)
        if vector.ndim != 1 or not np.all(np.isfinite(vector)) or np.linalg.norm(vector) < 1e-9:
            raise InvalidInputError("a band direction is a non-zero finite vector")
        if not self.width > 0 or not math.isfinite(self.centre):
            raise InvalidInputError("band estimation needs a finite centre and a positive width")
        vector = vector / np.linalg.norm(vector)
        vector.setflags(write=False)
        object.__setattr__(self, "direction", vector)

    @classmethod
    def from_cohorts(
        cls, *, wide: Cohort, phone: Cohort, centre: float = 0.0, width: float = 1.0
    ) -> BandEstimator:
        """The estimator along the difference of the phone-band and wide-band cohort means.

        Raises:
            InvalidInputError: The cohorts come from different models.
        """
        if wide.model_id != phone.model_id:
            raise InvalidInputError("both band cohorts must come from one model")
        direction = phone.embeddings.mean(axis=0) - wide.embeddings.mean(axis=0)
        return cls(direction=direction, model_id=wide.model_id, centre=centre, width=width)

    def band_score(self, embedding: Embedding) -> float:
        """The embedding's projection on the wide-to-phone direction.

        Raises:
            ModelMismatchError: The embedding comes from another model.
        """
        if embedding.model_id != self.model_id or embedding.dimension != self.direction.size:
            raise ModelMismatchError(
                f"the band estimator was made for model {self.model_id!r}, "
                f"not {embedding.model_id!r}"
            )
        return float(np.dot(self.direction, embedding.vector))

    def phone_likeness(self, embedding: Embedding) -> float:
        """0 for clearly wide-band speech, 1 for clearly telephone speech."""
        return sigmoid((self.band_score(embedding) - self.centre) / self.width)


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """Log-odds of "same speaker" from a normalised score, the probe's speech and channel.

    ``log_odds = (slope + slope_per_log_s * q + slope_mismatch * m) * s
    + bias + bias_per_log_s * q + bias_mismatch * m`` with
    ``q = ln(clip(speech_seconds, min_speech_s, max_speech_s))`` and ``m`` in [0, 1] the channel
    mismatch between enrolment and probe (see :class:`BandEstimator`). Short speech and a
    changed channel get their own slope and bias, learnt from data: a score from one second of
    speech is weaker evidence than the same score from eight, and a wide-band enrolment heard
    back over a phone line scores lower for everyone. The slope is positive over the whole
    range of ``q`` and ``m``, so the map is strictly increasing in ``s`` in every case.

    Args:
        slope: Weight of the normalised score at one second of speech.
        bias: Offset at one second of speech.
        slope_per_log_s: Change of the slope per unit of ``ln(seconds)``.
        bias_per_log_s: Change of the offset per unit of ``ln(seconds)``.
        slope_mismatch: Change of the slope from matched (0) to mismatched (1) channels.
        bias_mismatch: Change of the offset from matched to mismatched channels.
        min_speech_s: Durations below this count as this.
        max_speech_s: Durations above this count as this.
    """

    slope: float
    bias: float
    slope_per_log_s: float = 0.0
    bias_per_log_s: float = 0.0
    slope_mismatch: float = 0.0
    bias_mismatch: float = 0.0
    min_speech_s: float = 1.0
    max_speech_s: float = 10.0

    def __post_init__(self) -> None:
        values = (
            self.slope,
            self.bias,
            self.slope_per_log_s,
            self.bias_per_log_s,
            self.slope_mismatch,
            self.bias_mismatch,
        )
        if not all(math.isfinite(v) for v in values):
            raise InvalidInputError("calibration parameters must be finite")
        if not 0.0 < self.min_speech_s <= self.max_speech_s:
            raise InvalidInputError("calibration durations must satisfy 0 < minimum <= maximum")
        # The slope is affine in (q, m): positive at the four corners means positive everywhere.
        for seconds in (self.min_speech_s, self.max_speech_s):
            for mismatch in (0.0, 1.0):
                if self._slope(math.log(seconds), mismatch) <= 0.0:
                    raise InvalidInputError(
                        "a calibration must increase with the score at every duration and channel"
                    )

    def _slope(self, q: float, mismatch: float) -> float:
        return self.slope + self.slope_per_log_s * q + self.slope_mismatch * mismatch

    def _quality(self, speech_seconds: float) -> float:
        seconds = min(self.max_speech_s, max(self.min_speech_s, speech_seconds))
        return math.log(seconds)

    def log_odds(self, normalised: float, *, speech_seconds: float, mismatch: float = 0.0) -> float:
        """Log-odds (natural log) that the two voices are the same speaker.

        Args:
            normalised: The AS-normalised score.
            speech_seconds: The probe's net speech.
            mismatch: Channel mismatch in [0, 1] (clipped).
        """
        q = self._quality(speech_seconds)
        m = min(1.0, max(0.0, mismatch))
        value = self._slope(q, m) * normalised
        value += self.bias + self.bias_per_log_s * q + self.bias_mismatch * m
        return min(_MAX_LOG_ODDS, max(-_MAX_LOG_ODDS, value))


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibratedPolicy:
    """AS-norm, then calibration to [0, 1]; accept when the calibrated score reaches the threshold.

    The calibrated score is ``sigmoid(log_odds)``: the probability that the caller is the
    enrolled speaker under the prior the calibration was fitted with. The shipped calibration is
    fitted so that the default threshold 0.82 is its measured operating point (see
    ``docs/accuracy.md``); a higher threshold is stricter.

    An early decision is taken once the log-odds are ``accept_margin`` above (or
    ``reject_margin`` below) the threshold's log-odds: a score far from the threshold after a
    few seconds will not cross it with more speech.

    The probe is compared with the enrolment's voiceprint as recorded, unless the two were heard
    through different channels (mismatch above ``switch_mismatch``) and the enrolment's
    phone-band voiceprint is closer to the probe's channel: then with that one (see
    :meth:`template`). The raw cosine returned stays the one with the voiceprint as recorded,
    the original service's score.

    Args:
        asnorm: The normaliser (cohort and ``top_k``).
        calibration: The map from normalised score, speech and channel mismatch to log-odds.
        band: Estimates each side's channel; None treats every trial as channel-matched.
        threshold: Accept at or above this calibrated score (``VOICE_THRESHOLD``).
        accept_margin: Log-odds above the threshold for an early accept.
        reject_margin: Log-odds below the threshold for an early reject.
        switch_mismatch: Channel mismatch above which the phone-band voiceprint is considered.
    """

    asnorm: AsNorm
    calibration: Calibration
    band: BandEstimator | None = None
    threshold: float = 0.82
    accept_margin: float = 2.0
    reject_margin: float = 4.0
    switch_mismatch: float = 0.5

    def __post_init__(self) -> None:
        _check_threshold(self.threshold)
        if not 0.0 <= self.switch_mismatch <= 1.0:
            raise InvalidInputError("the switch mismatch lies in [0, 1]")
        if self.accept_margin < 0 or self.reject_margin < 0:
            raise InvalidInputError("early-decision margins must not be negative")

    @property
    def name(self) -> str:
        """Identifies the rule in reports and health output."""
        return "asnorm-calibrated"

    def score(self, enrollment: Enrollment, probe: Embedding, *, speech_seconds: float) -> Score:
        """Score a probe embedding against an enrolment.

        Raises:
            ModelMismatchError: The probe, the enrolment and the cohort are not of one model.
        """
        centroid = enrollment.centroid
        raw = centroid.cosine(probe)
        template, mismatch = self._choose(centroid, enrollment, probe)
        cosine = raw if template is centroid else template.cosine(probe)
        normalised = self.asnorm.normalise(template, probe, cosine)
        odds = self.calibration.log_odds(
            normalised, speech_seconds=speech_seconds, mismatch=mismatch
        )
        return Score(calibrated=sigmoid(odds), raw=raw)

    def template(self, enrollment: Enrollment, probe: Embedding) -> tuple[Embedding, float]:
        """The voiceprint the probe is compared with, and their channel mismatch.

        The enrolment's centroid, unless its channel differs from the probe's by more than
        ``switch_mismatch`` and the phone-band centroid's differs less: a wide-band enrolment
        heard against a phone caller is then compared as heard over a phone line itself.
        """
        return self._choose(enrollment.centroid, enrollment, probe)

    def _choose(
        self, centroid: Embedding, enrollment: Enrollment, probe: Embedding
    ) -> tuple[Embedding, float]:
        mismatch = self.mismatch(centroid, probe)
        if mismatch <= self.switch_mismatch:
            return centroid, mismatch
        twin = enrollment.phone_band_centroid  # only made when it may be used
        if twin is None:
            return centroid, mismatch
        twin_mismatch = self.mismatch(twin, probe)
        if twin_mismatch < mismatch:
            return twin, twin_mismatch
        return centroid, mismatch

    def mismatch(self, enrollment: Embedding, probe: Embedding) -> float:
        """How differently the two sides were heard, in [0, 1] (0 without a band estimator)."""
        if self.band is None:
            return 0.0
        return abs(self.band.phone_likeness(enrollment) - self.band.phone_likeness(probe))

    def decide(self, score: Score) -> Decision:
        """Accept at or above the threshold, reject below."""
        return Decision.ACCEPT if score.calibrated >= self.threshold else Decision.REJECT

    def early_decision(self, score: Score, *, speech_seconds: float) -> Decision | None:
        """A decision that more speech would not change, or None to keep listening."""
        del speech_seconds  # the calibration already weighs the evidence by duration
        if self.threshold in (0.0, 1.0):
            return None  # a degenerate operating point: decide on the full capture only
        odds = logit(min(1.0 - 1e-12, max(1e-12, score.calibrated)))
        point = logit(self.threshold)
        if odds >= point + self.accept_margin:
            return Decision.ACCEPT
        if odds <= point - self.reject_margin:
            return Decision.REJECT
        return None


def fit_calibration(
    scores: npt.ArrayLike,
    speech_seconds: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    mismatch: npt.ArrayLike | None = None,
    p_target: float = 0.5,
    min_speech_s: float = 1.0,
    max_speech_s: float = 10.0,
    l2: float = 1e-3,
    iterations: int = 100,
) -> Calibration:
    """Fit a :class:`Calibration` by prior-weighted logistic regression (Newton's method).

    Genuine and impostor trials are weighted to ``p_target`` and ``1 - p_target`` of the total,
    as in the FoCal/BOSARIS recipe, so the result does not depend on how many of each there are.

    Args:
        scores: Normalised scores of labelled trials.
        speech_seconds: The probe's net speech in each trial.
        labels: 1 for same speaker, 0 for different speakers.
        mismatch: Channel mismatch in [0, 1] per trial; None fits no channel terms.
        p_target: The prior the log-odds are fitted for.
        min_speech_s: Lower clip of the durations.
        max_speech_s: Upper clip of the durations.
        l2: Ridge penalty on the weights, for stability on separable data.
        iterations: Newton steps at most.

    Raises:
        InvalidInputError: Mismatched inputs, a single class, or no increasing fit.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    d = np.asarray(speech_seconds, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if not s.size == d.size == y.size or s.size == 0:
        raise InvalidInputError("scores, durations and labels must have one entry per trial")
    if not (np.any(y == 1) and np.any(y == 0)):
        raise InvalidInputError("calibration needs both genuine and impostor trials")
    q = np.log(np.clip(d, min_speech_s, max_speech_s))
    columns = [s, np.ones_like(s), s * q, q]
    if mismatch is not None:
        m = np.clip(np.asarray(mismatch, dtype=np.float64).ravel(), 0.0, 1.0)
        if m.size != s.size:
            raise InvalidInputError("mismatch must have one entry per trial")
        columns += [s * m, m]
    features = np.column_stack(columns)
    weights = np.where(y == 1, p_target / np.sum(y == 1), (1 - p_target) / np.sum(y == 0))
    # The prior's log-odds are added back so the fitted log-odds are likelihood ratios + prior.
    offset = math.log(p_target / (1 - p_target))
    beta = np.zeros(features.shape[1])
    beta[0] = 1.0
    for _ in range(iterations):
        z = features @ beta + offset
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -_MAX_LOG_ODDS, _MAX_LOG_ODDS)))
        gradient = features.T @ (weights * (p - y)) + l2 * beta
        hessian = (features * (weights * p * (1 - p))[:, None]).T @ features
        step = np.linalg.solve(hessian + l2 * np.eye(beta.size), gradient)
        beta = beta - step
        if float(np.max(np.abs(step))) < 1e-9:
            break
    return Calibration(
        slope=float(beta[0]),
        bias=float(beta[1]),
        slope_per_log_s=float(beta[2]),
        bias_per_log_s=float(beta[3]),
        slope_mismatch=float(beta[4]) if beta.size > 4 else 0.0,
        bias_mismatch=float(beta[5]) if beta.size > 4 else 0.0,
        min_speech_s=min_speech_s,
        max_speech_s=max_speech_s,
    )
