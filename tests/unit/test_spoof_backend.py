"""The spoof back-end: its fit (made-up clips), its JSON, the line detection, the window score."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import resample_poly

from voiceauth_adapters.antispoof.backend import (
    SHIPPED_BACKEND,
    GenuineLine,
    SpoofBackend,
    read_backend,
    shipped_backend,
    write_backend,
)
from voiceauth_adapters.antispoof.band import FLOOR, high_band_share, log_high_band
from voiceauth_adapters.antispoof.export import HIDDEN_SIZE
from voiceauth_adapters.antispoof.manifest import DETECTOR_ID
from voiceauth_adapters.evaluation.spoof_eval.backend_fit import (
    NARROW_BELOW,
    Featured,
    fit_backend,
    logistic_l2,
)
from voiceauth_adapters.evaluation.spoof_eval.fit import equal_error
from voiceauth_adapters.evaluation.spoof_eval.splits import ScoredClip
from voiceauth_core import CANONICAL_RATE, Audio, InvalidInputError

pytestmark = pytest.mark.unit


def _line(seed: int, shift: float, spread: float) -> GenuineLine:
    rng = np.random.default_rng(seed)
    whiten = np.tril(rng.normal(0, 0.1, (HIDDEN_SIZE, HIDDEN_SIZE))) + np.eye(HIDDEN_SIZE)
    return GenuineLine(
        mean=rng.normal(0, 1, HIDDEN_SIZE), whiten=whiten, shift=shift, spread=spread
    )


def _backend(**changes: object) -> SpoofBackend:
    fields: dict[str, object] = {
        "name": "t",
        "detector_id": DETECTOR_ID,
        "raw_weight": 0.5,
        "distance_weight": 0.4,
        "bias": -1.0,
        "narrow_below": NARROW_BELOW,
        "lines": {"wide": _line(1, 0.2, 1.0), "narrow": _line(2, 1.5, 2.0)},
    }
    fields.update(changes)
    return SpoofBackend(**fields)  # type: ignore[arg-type]


# ---- the line: energy above 4 kHz ----------------------------------------------------------


def _noise(seconds: float = 2.0) -> Audio:
    values = np.random.default_rng(3).normal(0, 0.1, round(seconds * CANONICAL_RATE))
    return Audio(samples=values.astype(np.float32), sample_rate=CANONICAL_RATE)


def test_white_noise_has_its_share_of_energy_above_4_5_khz() -> None:
    assert high_band_share(_noise()) == pytest.approx((8000 - 4500) / 8000, abs=0.03)


def test_a_telephone_line_leaves_almost_nothing_above_4_khz() -> None:
    wide = _noise()
    narrow = resample_poly(resample_poly(wide.samples.astype(np.float64), 1, 2), 2, 1)
    phone = Audio(samples=narrow.astype(np.float32), sample_rate=CANONICAL_RATE)
    assert log_high_band(phone) < NARROW_BELOW < log_high_band(wide)


@given(gain=st.floats(1e-3, 10.0))
def test_the_share_does_not_depend_on_the_level(gain: float) -> None:
    louder = Audio(samples=(_noise().samples * gain).astype(np.float32), sample_rate=16000)
    assert high_band_share(louder) == pytest.approx(high_band_share(_noise()), rel=1e-4)


def test_silence_and_scraps_report_the_floor() -> None:
    assert high_band_share(Audio(samples=np.zeros(16000, np.float32), sample_rate=16000)) == FLOOR
    assert high_band_share(Audio(samples=np.ones(100, np.float32), sample_rate=16000)) == FLOOR


# ---- the run-time back-end -----------------------------------------------------------------


@settings(max_examples=30)
@given(
    windows=st.integers(1, 5),
    seed=st.integers(0, 1000),
    line=st.sampled_from(["wide", "narrow"]),
)
def test_the_mean_of_window_scores_is_the_score_of_the_call(
    windows: int, seed: int, line: str
) -> None:
    rng = np.random.default_rng(seed)
    raw = rng.normal(0, 5, windows)
    hidden = list(rng.normal(0, 1, (windows, HIDDEN_SIZE)).astype(np.float32))
    backend = _backend()
    each = backend.scores(list(raw), hidden, line=line)
    assert len(each) == windows
    whole = backend.scores([float(raw.mean())], [np.mean(hidden, axis=0)], line=line)
    assert float(np.mean(each)) == pytest.approx(whole[0], abs=1e-6)


def test_a_call_is_measured_against_genuine_speech_of_its_own_line() -> None:
    backend = _backend()
    genuine = backend.lines["narrow"]
    at_mean = backend.scores([3.5], [genuine.mean.astype(np.float32)], line="narrow")[0]
    # At the genuine mean the distance is ln(0), held at ln(1e-12).
    expected = (0.5 * 3.5 + 0.4 * math.log(1e-12) - 1.0 - 1.5) / 2.0
    assert at_mean == pytest.approx(expected, abs=1e-4)
    away = genuine.mean + 3.0
    assert backend.scores([3.5], [away], line="narrow")[0] > at_mean
    assert genuine.distance(away) == pytest.approx(
        math.log(float(np.sum(np.square(genuine.whiten @ np.full(HIDDEN_SIZE, 3.0))))), rel=1e-9
    )
    assert backend.line(-4.5) == "narrow"
    assert backend.line(-1.0) == "wide"
    assert backend.scored_id == f"{DETECTOR_ID}+t"
    with pytest.raises(InvalidInputError):
        backend.scores([], [], line="wide")
    with pytest.raises(InvalidInputError):
        backend.scores([1.0, 2.0], [genuine.mean], line="wide")


@pytest.mark.parametrize(
    "changes",
    [
        {"raw_weight": math.nan},
        {"lines": {"wide": _line(1, 0.0, 1.0)}},
        {"name": ""},
    ],
)
def test_a_broken_backend_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        _backend(**changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"mean": np.zeros(3)},
        {"spread": 0.0},
        {"shift": math.inf},
        {"whiten": np.full((HIDDEN_SIZE, HIDDEN_SIZE), math.nan)},
    ],
)
def test_a_broken_genuine_line_is_refused(changes: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "mean": np.zeros(HIDDEN_SIZE),
        "whiten": np.eye(HIDDEN_SIZE),
        "shift": 0.0,
        "spread": 1.0,
    }
    fields.update(changes)
    with pytest.raises(InvalidInputError):
        GenuineLine(**fields)  # type: ignore[arg-type]


def test_a_backend_survives_its_json(tmp_path: Path) -> None:
    backend = _backend()
    path = tmp_path / "backend.json"
    write_backend(backend, path, note="made up")
    assert read_backend(path) == backend
    assert json.loads(path.read_text())["note"] == "made up"


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"name": "t"}',
    ],
)
def test_what_is_not_a_backend_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "backend.json"
    path.write_text(text)
    with pytest.raises(InvalidInputError):
        read_backend(path)


def test_unknown_keys_and_wrong_types_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "backend.json"
    write_backend(_backend(), path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "extra": 1}))
    with pytest.raises(InvalidInputError, match="unknown"):
        read_backend(path)
    path.write_text(json.dumps({**data, "bias": "high"}))
    with pytest.raises(InvalidInputError):
        read_backend(path)
    data["lines"]["wide"]["whiten"] = data["lines"]["wide"]["whiten"][:-1]
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInputError):
        read_backend(path)


def test_the_shipped_backend_reads_these_weights() -> None:
    backend = shipped_backend()
    assert backend == read_backend(SHIPPED_BACKEND)
    assert backend.detector_id == DETECTOR_ID
    assert set(backend.lines) == {"wide", "narrow"}


# ---- the fit -------------------------------------------------------------------------------


def test_logistic_l2_separates_and_shrinks() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (400, 3))
    y = (x[:, 0] + 0.3 * rng.normal(0, 1, 400) > 0).astype(np.float64)
    w = np.ones(400)
    loose, _ = logistic_l2(x, y, w, 1e-4)
    tight, _ = logistic_l2(x, y, w, 1.0)
    assert loose[0] > 2 * max(abs(loose[1]), abs(loose[2]))
    assert np.linalg.norm(tight) < np.linalg.norm(loose)
    with pytest.raises(InvalidInputError):
        logistic_l2(x, np.zeros(400), w, 1.0)


def _corpus(seed: int = 0) -> list[Featured]:
    """Genuine speakers on two lines, three spoof families; spoofs lie farther from genuine
    speech in the hidden space (shared by every family) and each family along its own
    dimension; the telephone line moves every raw score up by 4."""
    rng = np.random.default_rng(seed)
    items: list[Featured] = []

    def add(label: str, family: str, speaker: str, channel: str, shared: float, own: int) -> None:
        # Spoofs lie farther from genuine speech (a wider spread), each family its own way.
        hidden = rng.normal(0, 1.0 + 0.2 * shared, HIDDEN_SIZE)
        if own:
            hidden[own] += 3.0
        narrow = channel == "g711"
        raw = rng.normal(0, 2) + shared + (4.0 if narrow else 0.0)
        clip = ScoredClip(
            path=f"{seed}/{label}/{family}/{speaker}/{channel}/{len(items)}",
            label=label,
            family=family,
            speaker=speaker,
            channel=channel,
            text_id=str(len(items)),
            raw=raw,
            speech_seconds=3.0,
        )
        items.append(
            Featured(
                clip=clip,
                hidden=hidden,
                embedding=rng.normal(0, 1, 8),
                log_high_band=-5.0 if narrow else -1.5,
            )
        )

    for speaker in range(16):
        for channel in ("clean", "g711"):
            for _ in range(5):
                add("bonafide", "librispeech", f"librispeech:{speaker}", channel, 0.0, 0)
    for own, family in enumerate(("alpha", "beta", "gamma"), start=1):
        for channel in ("clean", "g711"):
            for _ in range(30):
                add("spoof", family, f"{family}:v", channel, 2.5, own)
    return items


def test_the_fit_learns_what_every_family_shares_and_the_line_is_taken_out() -> None:
    items = _corpus()
    backend = fit_backend(items, "distance+channel")
    assert backend.l2 is not None
    assert set(backend.inner_eer)
    assert all(0.0 <= v <= 0.5 for v in backend.inner_eer.values())
    scores = backend.score(items)
    for narrow in (False, True):
        genuine = [
            s
            for s, item in zip(scores, items, strict=True)
            if item.clip.label == "bonafide" and item.narrow is narrow
        ]
        assert float(np.mean(genuine)) == pytest.approx(0.0, abs=1e-6)
        assert float(np.std(genuine)) == pytest.approx(1.0, abs=1e-6)
    # An unseen family that shares the common trait (far from genuine speech, and a trait of
    # its own) is caught better than by the raw score alone.
    fresh = [i for i in _corpus(seed=1) if i.clip.family in ("librispeech", "gamma")]
    backend = fit_backend([i for i in items if i.clip.family != "gamma"], "distance+channel")
    values = backend.score(fresh)
    genuine = [v for v, i in zip(values, fresh, strict=True) if i.clip.label == "bonafide"]
    spoofs = [v for v, i in zip(values, fresh, strict=True) if i.clip.label == "spoof"]
    raw = equal_error(
        [i.clip.raw for i in fresh if i.clip.label == "bonafide"],
        [i.clip.raw for i in fresh if i.clip.label == "spoof"],
    )
    assert equal_error(list(genuine), list(spoofs)).rate < raw.rate


def test_the_raw_variant_learns_nothing_and_the_runtime_form_scores_alike() -> None:
    items = _corpus()
    raw = fit_backend(items, "raw")
    assert raw.l2 is None
    genuine = [i for i in items if i.clip.label == "bonafide"]
    assert float(np.mean(raw.score(genuine))) == pytest.approx(0.0, abs=1e-9)
    fitted = fit_backend(items, "distance+channel")
    runtime = fitted.runtime(name="t", detector_id=DETECTOR_ID)
    # Clips the fit never heard: their distance is the whole fit side's, as in the detector.
    fresh = _corpus(seed=2)
    expected = fitted.score(fresh)
    actual = [
        runtime.scores(
            [i.clip.raw], [i.hidden.astype(np.float32)], line=runtime.line(i.log_high_band)
        )[0]
        for i in fresh
    ]
    assert np.max(np.abs(np.array(actual) - expected)) < 1e-3
    for variant in ("embedding", "hidden", "raw"):
        with pytest.raises(InvalidInputError):
            fit_backend(items, variant).runtime(name="t", detector_id=DETECTOR_ID)
    with pytest.raises(InvalidInputError):
        fit_backend(items, "nonsense")


def test_a_fit_sides_genuine_clips_are_measured_by_a_gaussian_without_their_speaker() -> None:
    items = _corpus()
    fitted = fit_backend(items, "distance")
    genuine = [i for i in items if i.clip.label == "bonafide"]
    crossed = [fitted.distance(i) for i in genuine]
    fresh = [i for i in _corpus(seed=3) if i.clip.label == "bonafide"]
    # Measured from a Gaussian that saw them, the fit side's genuine clips would sit closer
    # than any new caller; measured without their speaker, they sit about as far as new ones.
    in_sample = fitted.runtime(name="t", detector_id=DETECTOR_ID)
    seen = [
        in_sample.lines["wide" if not i.narrow else "narrow"].distance(i.hidden) for i in genuine
    ]
    new = [fitted.distance(i) for i in fresh]
    assert float(np.mean(seen)) < float(np.mean(crossed))
    gap_crossed = abs(float(np.mean(crossed)) - float(np.mean(new)))
    assert gap_crossed < abs(float(np.mean(seen)) - float(np.mean(new))) / 2
