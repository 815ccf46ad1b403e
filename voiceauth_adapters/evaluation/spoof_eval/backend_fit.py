"""Learned back-ends on AASIST's outputs, fitted on one side and judged on spoof families unseen.

A back-end maps what the service can know of a call (AASIST's raw score, its last hidden
representation, the ECAPA speaker embedding the verification computes anyway, and whether the
speech came through a telephone line) to one score, higher for more likely spoofed:

* for the ``distance`` variants, one input fitted on genuine speech alone: how far the hidden
  representation lies from a Gaussian of the fit side's genuine clips of the same line (the
  shipped back-end, ``antispoof.backend``); a genuine fit clip's own distance comes from a
  Gaussian fitted without its speaker, as a new caller's would;
* a weighted L2-regularised logistic regression of spoof/bona fide on the standardised inputs
  (the classes weigh half each, each bona fide channel and each spoof family the same within its
  half: :func:`~.fit.group_weights`); its strength is chosen by an *inner* leave-one-family-out
  cross-validation on the fit side only (each inner fold also holds out a share of the fit
  speakers), the one with the lowest mean equal error rate (with a single fit family there is
  no inner fold, and the strongest is taken);
* then, for the ``+channel`` variants, a per-channel standardisation fitted on the fit side's
  bona fide clips only: the line shifts genuine scores towards "fake", so each call is measured
  against genuine calls of its own kind of line (wide band or telephone, told from the audio's
  energy above 4.5 kHz, see ``antispoof.band``).

The score is finally put in bona fide standard deviations (the fit side's genuine clips have mean
0 and spread 1; monotone, so no equal error rate changes), so that one grid of thresholds and
margins serves every variant.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.antispoof.backend import LINES, GenuineLine, SpoofBackend
from voiceauth_adapters.evaluation.spoof_eval.fit import equal_error, group_weights
from voiceauth_adapters.evaluation.spoof_eval.splits import BONAFIDE, ScoredClip
from voiceauth_core.errors import InvalidInputError

__all__ = [
    "L2_GRID",
    "NARROW_BELOW",
    "RUNTIME_VARIANTS",
    "SHRINKAGE",
    "VARIANTS",
    "Featured",
    "FittedBackend",
    "fit_backend",
    "logistic_l2",
]

#: The regularisation strengths the inner cross-validation chooses from (the objective is the
#: weighted mean log-loss, weights summing to one, so these are per unit of total weight).
L2_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
#: Speech with less than this ``log10`` share of its energy above 4.5 kHz came through a telephone
#: line (or was recorded at 8 kHz): a line leaves nothing there, so such speech measures near the
#: floor (-6), wide-band speech above -3 (``docs/spoofing.md``); the boundary is not a fine one.
NARROW_BELOW = -3.5
_ITERATIONS = 100

#: The inputs each variant reads: ``raw`` (AASIST's score), ``hidden`` (its 160-d last
#: representation), ``embedding`` (ECAPA's 192-d speaker embedding), ``distance`` (the ``ln``
#: squared Mahalanobis distance of the hidden representation from the fit side's genuine clips of
#: the same line, fitted on genuine speech alone); ``channel`` adds the per-channel
#: standardisation on bona fide fit clips.
VARIANTS: Mapping[str, tuple[str, ...]] = {
    "raw": ("raw",),
    "raw+channel": ("raw", "channel"),
    "hidden": ("raw", "hidden"),
    "hidden+channel": ("raw", "hidden", "channel"),
    "embedding": ("embedding",),
    "embedding+hidden": ("raw", "hidden", "embedding"),
    "embedding+hidden+channel": ("raw", "hidden", "embedding", "channel"),
    "distance": ("raw", "distance"),
    "distance+channel": ("raw", "distance", "channel"),
}
#: The variants the detector itself can apply (it hears no speaker embedding), the shipped first.
RUNTIME_VARIANTS = ("distance+channel", "distance")
#: How much of the genuine covariance is replaced by its mean variance (160 values from a few
#: hundred clips need it to be invertible and steady); chosen, not fitted.
SHRINKAGE = 0.1
#: The fit side's genuine clips get their distance from a Gaussian fitted without their own
#: speaker: these many speaker groups (else the fit side's genuine speech would sit closer to
#: its own Gaussian than any new caller, and the operating point would be chosen on that).
DISTANCE_GROUPS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Featured:
    """A scored clip with what a back-end may read of it.

    Args:
        clip: The clip and its AASIST raw score.
        hidden: AASIST's hidden representation, mean over the clip's windows.
        embedding: The ECAPA speaker embedding of the same speech.
        log_high_band: ``log10`` of the share of its energy above 4 kHz.
    """

    clip: ScoredClip
    hidden: npt.NDArray[np.float64]
    embedding: npt.NDArray[np.float64]
    log_high_band: float

    @property
    def narrow(self) -> bool:
        """Whether it came through a telephone line, as the audio tells."""
        return self.log_high_band < NARROW_BELOW


def _inputs(
    items: Sequence[Featured],
    parts: Sequence[str],
    distance: Callable[[Featured], float] | None = None,
) -> npt.NDArray[np.float64]:
    columns: list[npt.NDArray[np.float64]] = []
    for part in parts:
        if part == "distance" and distance is not None:
            columns.append(np.array([[distance(item)] for item in items]))
        elif part == "raw":
            columns.append(np.array([[item.clip.raw] for item in items]))
        elif part == "hidden":
            columns.append(np.stack([item.hidden for item in items]))
        elif part == "embedding":
            columns.append(np.stack([item.embedding for item in items]))
    return np.hstack(columns)


def logistic_l2(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    l2: float,
    *,
    start: npt.NDArray[np.float64] | None = None,
) -> tuple[npt.NDArray[np.float64], float]:
    """Weights and bias of the weighted logistic regression of ``y`` on ``x`` (Newton's method),
    the weights (not the bias) penalised by ``l2 / 2 * |beta|^2``; ``w`` is normalised to sum 1.
    ``start`` (weights and bias) is where Newton's method starts (a fit at a near strength).

    Raises:
        InvalidInputError: Mismatched inputs or a single class.
    """
    if not x.shape[0] == y.size == w.size or y.size == 0:
        raise InvalidInputError("one row, label and weight per trial")
    if not (np.any(y == 1) and np.any(y == 0)):
        raise InvalidInputError("a back-end needs bona fide and spoofed trials")
    weights = w / w.sum()
    design = np.hstack([x, np.ones((x.shape[0], 1))])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 1e-8  # the bias is not shrunk (a whisper keeps the Hessian invertible)
    beta = np.zeros(design.shape[1]) if start is None else np.array(start, dtype=np.float64)
    for _ in range(_ITERATIONS):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -40.0, 40.0)))
        gradient = design.T @ (weights * (p - y)) + penalty * beta
        hessian = (design * (weights * p * (1.0 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta = beta - step
        if float(np.max(np.abs(step))) < 1e-9:
            break
    return beta[:-1], float(beta[-1])


def _genuine_line(hidden: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], ...]:
    """Mean and whitening (lower-triangular, 7 significant digits as shipped) of genuine hidden
    representations under a shrunk covariance."""
    mean = hidden.mean(axis=0)
    covariance = np.cov(hidden, rowvar=False)
    size = covariance.shape[0]
    covariance = (1 - SHRINKAGE) * covariance + SHRINKAGE * np.trace(covariance) / size * np.eye(
        size
    )
    whiten = np.linalg.inv(np.linalg.cholesky(covariance))
    rounded = np.array([float(f"{v:.7g}") for v in np.tril(whiten).ravel()]).reshape(size, size)
    return np.array([float(f"{v:.7g}") for v in mean]), rounded


def _genuine_lines(items: Sequence[Featured]) -> dict[str, tuple[npt.NDArray[np.float64], ...]]:
    """Per line, the genuine Gaussian of ``items``' bona fide clips.

    Raises:
        InvalidInputError: A line with fewer than two genuine clips.
    """
    found = {}
    for line in LINES:
        hidden = [
            i.hidden for i in items if i.clip.label == BONAFIDE and (i.narrow is (line == "narrow"))
        ]
        if len(hidden) < 2:
            raise InvalidInputError(f"a distance from genuine speech needs {line} genuine clips")
        found[line] = _genuine_line(np.stack(hidden))
    return found


def _distance(lines: Mapping[str, tuple[npt.NDArray[np.float64], ...]], item: Featured) -> float:
    mean, whiten = lines["narrow" if item.narrow else "wide"]
    return math.log(max(float(np.sum(np.square(whiten @ (item.hidden - mean)))), 1e-12))


def _crossed_distances(items: Sequence[Featured]) -> dict[str, float]:
    """The distance of each genuine clip of ``items`` from a Gaussian fitted without its
    speaker's group (:data:`DISTANCE_GROUPS`); a group whose absence leaves a line with fewer
    than two genuine clips is left out (its clips are measured by the whole side's Gaussian)."""
    found: dict[str, float] = {}
    genuine = [i for i in items if i.clip.label == BONAFIDE]
    for group in range(DISTANCE_GROUPS):
        held = [i for i in genuine if _speaker_share(i.clip.speaker, DISTANCE_GROUPS) == group]
        if not held:
            continue
        rest = [i for i in genuine if _speaker_share(i.clip.speaker, DISTANCE_GROUPS) != group]
        try:
            lines = _genuine_lines(rest)
        except InvalidInputError:
            continue  # too few other speakers on a line (a tiny corpus): the whole side's
        found |= {i.clip.path: _distance(lines, i) for i in held}
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class FittedBackend:
    """A back-end fitted on one side: everything needed to score another.

    Args:
        variant: Its name in :data:`VARIANTS`.
        parts: What it reads.
        weights: Logistic weights on the *raw* (unstandardised) inputs, in ``parts`` order
            (empty when it is AASIST's raw score alone).
        bias: The logistic bias on the raw inputs.
        l2: The regularisation the inner cross-validation chose (None: nothing learnt).
        inner_eer: The inner cross-validation's mean EER per strength tried.
        shift: Per channel (``wide``, ``narrow``; ``all`` without the channel step): the bona
            fide fit clips' mean score, subtracted.
        spread: The same clips' standard deviation, divided by.
    """

    variant: str
    parts: tuple[str, ...]
    weights: npt.NDArray[np.float64]
    bias: float
    l2: float | None
    inner_eer: Mapping[float, float]
    shift: Mapping[str, float]
    spread: Mapping[str, float]
    genuine: Mapping[str, tuple[npt.NDArray[np.float64], ...]] = field(default_factory=dict)
    crossed: Mapping[str, float] = field(default_factory=dict)

    def distance(self, item: Featured) -> float:
        """The clip's distance from genuine speech: for a genuine clip of the fit side, from the
        Gaussian fitted without its speaker; for any other, from the whole fit side's."""
        found = self.crossed.get(item.clip.path)
        return _distance(self.genuine, item) if found is None else found

    def logit(self, items: Sequence[Featured]) -> npt.NDArray[np.float64]:
        """The back-end's score before the channel step (AASIST's raw score when nothing is
        learnt)."""
        if self.l2 is None:
            return np.array([item.clip.raw for item in items], dtype=np.float64)
        inputs = _inputs(items, self.parts, self.distance)
        return np.asarray(inputs @ self.weights + self.bias, dtype=np.float64)

    def channel_of(self, item: Featured) -> str:
        """The channel key its standardisation uses."""
        if "channel" not in self.parts:
            return "all"
        return "narrow" if item.narrow else "wide"

    def score(self, items: Sequence[Featured]) -> npt.NDArray[np.float64]:
        """The final score, in bona fide standard deviations of its channel."""
        logits = self.logit(items)
        keys = [self.channel_of(item) for item in items]
        return np.array(
            [(z - self.shift[k]) / self.spread[k] for z, k in zip(logits, keys, strict=True)]
        )

    def runtime(self, *, name: str, detector_id: str) -> SpoofBackend:
        """The back-end as the detector applies it.

        Raises:
            InvalidInputError: It is not one of :data:`RUNTIME_VARIANTS` (the detector hears no
                speaker embedding, and applies no regression on the hidden values themselves).
        """
        if self.variant not in RUNTIME_VARIANTS:
            raise InvalidInputError(f"the detector cannot apply the {self.variant!r} back-end")
        keys = LINES if "channel" in self.parts else ("all",) * len(LINES)
        return SpoofBackend(
            name=name,
            detector_id=detector_id,
            raw_weight=float(self.weights[0]),
            distance_weight=float(self.weights[1]),
            bias=self.bias,
            narrow_below=NARROW_BELOW,
            lines={
                line: GenuineLine(
                    mean=self.genuine[line][0],
                    whiten=self.genuine[line][1],
                    shift=self.shift[key],
                    spread=self.spread[key],
                )
                for line, key in zip(LINES, keys, strict=True)
            },
        )

    def rescored(self, items: Sequence[Featured]) -> list[ScoredClip]:
        """The clips with their raw score replaced by the back-end's."""
        return [
            replace(item.clip, raw=float(value))
            for item, value in zip(items, self.score(items), strict=True)
        ]


def _labels_groups(items: Sequence[Featured]) -> tuple[list[int], list[str]]:
    labels = [0 if item.clip.label == BONAFIDE else 1 for item in items]
    groups = [
        item.clip.channel if item.clip.label == BONAFIDE else item.clip.family for item in items
    ]
    return labels, groups


def _standardised_path(
    items: Sequence[Featured],
    parts: Sequence[str],
    strengths: Sequence[float],
    distance: Callable[[Featured], float] | None = None,
) -> list[tuple[npt.NDArray[np.float64], float]]:
    """The logistic regression fitted on standardised inputs at each strength (strongest first,
    each fit starting from the one before), returned on the raw inputs."""
    x = _inputs(items, parts, distance)
    centre = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    labels, groups = _labels_groups(items)
    y = np.array(labels, dtype=np.float64)
    w = group_weights(labels, groups)
    found: dict[float, tuple[npt.NDArray[np.float64], float]] = {}
    start: npt.NDArray[np.float64] | None = None
    for strength in sorted(strengths, reverse=True):
        beta, bias = logistic_l2((x - centre) / scale, y, w, strength, start=start)
        start = np.append(beta, bias)
        weights = beta / scale
        found[strength] = (weights, bias - float(centre @ weights))
    return [found[strength] for strength in strengths]


def _speaker_share(speaker: str, folds: int) -> int:
    return int(hashlib.sha256(f"inner:{speaker}".encode()).hexdigest(), 16) % folds


def _inner_eers(
    items: Sequence[Featured],
    parts: Sequence[str],
    strengths: Sequence[float],
    distance: Callable[[Featured], float] | None = None,
) -> dict[float, float]:
    """Per strength, the mean EER over inner folds: each fit family held out in turn, with a
    share of the fit speakers (their bona fide clips and replays); inf where no fold could be
    fitted."""
    families = sorted({i.clip.family for i in items if i.clip.label != BONAFIDE})
    rates: dict[float, list[float]] = {strength: [] for strength in strengths}
    for index, family in enumerate(families):

        def held(item: Featured, index: int = index, family: str = family) -> bool:
            person = item.clip.person
            if item.clip.label == BONAFIDE:
                return _speaker_share(item.clip.speaker, len(families)) == index
            if item.clip.family != family:
                return False
            return person is None or _speaker_share(person, len(families)) == index

        def trained(item: Featured, family: str = family, index: int = index) -> bool:
            if item.clip.label != BONAFIDE and item.clip.family == family:
                return False
            person = item.clip.person
            return person is None or _speaker_share(person, len(families)) != index

        fit = [item for item in items if trained(item)]
        test = [item for item in items if held(item)]
        genuine = _inputs([i for i in test if i.clip.label == BONAFIDE], parts, distance)
        spoofs = _inputs([i for i in test if i.clip.label != BONAFIDE], parts, distance)
        if not genuine.size or not spoofs.size or len({i.clip.label for i in fit}) < 2:
            continue  # a fit side of one family leaves nothing to fit an inner fold on
        for strength, (weights, bias) in zip(
            strengths, _standardised_path(fit, parts, strengths, distance), strict=True
        ):
            rate = equal_error(list(genuine @ weights + bias), list(spoofs @ weights + bias))
            rates[strength].append(rate.rate)
    return {k: float(np.mean(v)) if v else math.inf for k, v in rates.items()}


def _standardisation(
    logits: npt.NDArray[np.float64], keys: Sequence[str]
) -> tuple[dict[str, float], dict[str, float]]:
    shift: dict[str, float] = {}
    spread: dict[str, float] = {}
    for key in sorted(set(keys)):
        values = logits[[k == key for k in keys]]
        shift[key] = float(np.mean(values))
        spread[key] = max(float(np.std(values)), 1e-6)
    return shift, spread


def fit_backend(items: Sequence[Featured], variant: str) -> FittedBackend:
    """The back-end ``variant`` fitted on ``items`` (one side's clips) alone.

    Raises:
        InvalidInputError: An unknown variant, or the items lack a class.
    """
    if variant not in VARIANTS:
        raise InvalidInputError(f"no back-end variant {variant!r}")
    parts = VARIANTS[variant]
    learnt = [part for part in parts if part != "channel"]
    genuine: dict[str, tuple[npt.NDArray[np.float64], ...]] = {}
    crossed: dict[str, float] = {}
    if "distance" in parts:
        genuine = _genuine_lines(items)
        crossed = _crossed_distances(items)
    draft = FittedBackend(
        variant=variant,
        parts=tuple(parts),
        weights=np.zeros(0),
        bias=0.0,
        l2=None,
        inner_eer={},
        shift={},
        spread={},
        genuine=genuine,
        crossed=crossed,
    )
    if learnt != ["raw"]:
        inner = _inner_eers(items, learnt, L2_GRID, draft.distance)
        l2 = min(L2_GRID, key=lambda strength: (inner[strength], -strength))
        ((weights, bias),) = _standardised_path(items, learnt, (l2,), draft.distance)
        draft = replace(draft, weights=weights, bias=bias, l2=l2, inner_eer=inner)
    bona_fide = [item for item in items if item.clip.label == BONAFIDE]
    shift, spread = _standardisation(
        draft.logit(bona_fide), [draft.channel_of(item) for item in bona_fide]
    )
    return replace(draft, shift=shift, spread=spread)
