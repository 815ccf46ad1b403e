"""The spoof evaluation's arithmetic on made-up scores: EER, calibration fit, splits, thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceauth_adapters.evaluation.spoof_eval.fit import equal_error, fit_logistic, group_weights
from voiceauth_adapters.evaluation.spoof_eval.operating import (
    Targets,
    choose,
    genuine_calls,
    outcomes,
    spoof_attempts,
)
from voiceauth_adapters.evaluation.spoof_eval.splits import (
    ScoredClip,
    folds,
    halves,
    scored_clips,
    split_corpus,
)
from voiceauth_core import InvalidInputError, SpoofCalibration
from voiceauth_core.spoof_gate import SpoofGate

pytestmark = pytest.mark.unit

ID = "d"


def clip(
    *,
    label: str = "bonafide",
    family: str = "librispeech",
    speaker: str = "librispeech:1",
    channel: str = "clean",
    text: str = "x",
    raw: float = 0.0,
) -> ScoredClip:
    return ScoredClip(
        path=f"{label}/{family}/{speaker}/{channel}/{text}/{raw}",
        label=label,
        family=family,
        speaker=speaker,
        channel=channel,
        text_id=text,
        raw=raw,
        speech_seconds=3.0,
    )


# Equal error rate.


def test_separated_scores_have_no_equal_error() -> None:
    found = equal_error([-3.0, -2.0, -1.0], [1.0, 2.0])
    assert found.rate == 0.0
    assert -1.0 < found.threshold <= 1.0
    assert (found.bonafide, found.spoof) == (3, 2)


def test_swapped_scores_are_always_wrong() -> None:
    assert equal_error([1.0, 2.0], [-2.0, -1.0]).rate == 1.0


def test_a_known_overlap() -> None:
    # Bona fide 0..9, spoofs 5..14: at 7.5 a quarter of each side is wrong.
    found = equal_error([float(v) for v in range(10)], [float(v) for v in range(5, 15)])
    assert found.rate == pytest.approx(0.25, abs=0.05)


@given(
    # Scores on a grid: the map must not merge distinct scores by rounding.
    st.lists(st.integers(-400, 400).map(lambda v: v / 8), min_size=1, max_size=40),
    st.lists(st.integers(-400, 400).map(lambda v: v / 8), min_size=1, max_size=40),
    st.sampled_from([0.25, 0.5, 2.0, 4.0]),
    st.integers(-40, 40).map(lambda v: v / 8),
)
def test_the_eer_does_not_change_under_a_monotone_calibration(
    bonafide: list[float], spoof: list[float], scale: float, shift: float
) -> None:
    before = equal_error(bonafide, spoof).rate
    after = equal_error(
        [scale * v + shift for v in bonafide], [scale * v + shift for v in spoof]
    ).rate
    assert 0.0 <= before <= 1.0
    assert after == pytest.approx(before, abs=1e-9)


def test_an_eer_needs_both_sides() -> None:
    with pytest.raises(InvalidInputError):
        equal_error([], [1.0])


# Logistic calibration.


def test_the_fit_recovers_a_known_logistic() -> None:
    rng = np.random.default_rng(0)
    raw = rng.uniform(-10, 10, 20_000)
    truth = SpoofCalibration(scale=0.8, offset=-2.0, detector_id=ID)
    labels = (rng.uniform(size=raw.size) < [truth.probability(v) for v in raw]).astype(int)
    fitted = fit_logistic(raw, labels.tolist(), np.ones(raw.size), detector_id=ID)
    assert fitted.scale == pytest.approx(0.8, rel=0.1)
    assert fitted.offset == pytest.approx(-2.0, abs=0.2)
    assert fitted.detector_id == ID


def test_balanced_weights_put_one_half_between_the_classes() -> None:
    # Three times as many spoofs: unweighted the midpoint would move; weighted it stays at 0.
    raw = [-2.0, -1.0, 1.0, 2.0] + [-1.0, 1.0, 2.0, 3.0] * 3
    labels = [0, 0, 0, 0] + [1, 1, 1, 1] * 3
    weights = group_weights(labels, ["g"] * len(labels))
    assert float(np.sum(weights[:4])) == pytest.approx(0.5)
    fitted = fit_logistic(raw, labels, weights, detector_id=ID)
    midpoint = -fitted.offset / fitted.scale
    assert 0.0 < midpoint < 1.0
    assert fitted.probability(midpoint) == pytest.approx(0.5)


def test_groups_weigh_the_same_whatever_their_size() -> None:
    weights = group_weights([1, 1, 1, 1, 0], ["a", "a", "a", "b", "c"])
    assert weights.tolist() == pytest.approx([0.25 / 3] * 3 + [0.25, 0.5])


def test_separable_data_gives_a_finite_increasing_fit() -> None:
    fitted = fit_logistic([-5.0, -4.0, 4.0, 5.0], [0, 0, 1, 1], [1, 1, 1, 1], detector_id=ID)
    assert math.isfinite(fitted.offset)
    assert fitted.scale > 0


def test_a_fit_needs_both_classes() -> None:
    with pytest.raises(InvalidInputError):
        fit_logistic([1.0, 2.0], [1, 1], [1.0, 1.0], detector_id=ID)
    with pytest.raises(InvalidInputError):
        group_weights([1, 1], ["a", "b"])


# Splits.


def test_halves_split_each_corpus_evenly_and_disjointly() -> None:
    names = [f"librispeech:{i}" for i in range(60)] + [f"fsdd:{n}" for n in "abcdef"]
    fit, held = halves(names, seed=0)
    assert fit.isdisjoint(held)
    assert fit | held == set(names)
    assert sum(n.startswith("fsdd:") for n in fit) == 3
    assert sum(n.startswith("librispeech:") for n in fit) == 30
    assert halves(reversed(names), seed=0) == (fit, held)  # the order does not matter
    assert halves(names, seed=1) != (fit, held)


def _corpus() -> list[ScoredClip]:
    clips = []
    for speaker in ("librispeech:1", "librispeech:2", "fsdd:a", "fsdd:b"):
        for text in ("u1", "u2"):
            clips += [
                clip(speaker=speaker, family=speaker.split(":")[0], text=text, channel=ch)
                for ch in ("clean", "g711")
            ]
            clips.append(
                clip(label="spoof", family="replay", speaker=speaker, text=text, channel="g711")
            )
    for family in ("espeak-ng", "flite", "piper"):
        clips += [
            clip(label="spoof", family=family, speaker=f"{family}:v", text=f"t{i}", raw=9.0)
            for i in range(6)
        ]
    return clips


def test_replays_follow_their_speaker_and_synthetic_texts_are_split() -> None:
    clips = _corpus()
    split = split_corpus(clips, seed=0)
    assert split.fit_speakers.isdisjoint(split.eval_speakers)
    assert split.fit_texts.isdisjoint(split.eval_texts)
    for c in clips:
        if c.person is not None:
            assert split.side(c) == ("fit" if c.speaker in split.fit_speakers else "eval")


def test_a_held_out_family_is_never_fitted_and_sides_never_mix() -> None:
    clips = _corpus()
    split = split_corpus(clips, seed=0)
    held_out, everything = folds(clips, split)
    assert [f.held_out for f in held_out] == ["espeak-ng", "flite", "piper", "replay"]
    for fold in held_out:
        assert fold.held_out not in fold.fit_families
        assert {c.family for c in fold.evaluation if c.label == "spoof"} == {fold.held_out}
        assert all(split.side(c) == "fit" for c in fold.fit)
        assert all(split.side(c) == "eval" for c in fold.evaluation)
        fit_people = {c.person for c in fold.fit} - {None}
        eval_people = {c.person for c in fold.evaluation} - {None}
        assert fit_people.isdisjoint(eval_people)
    assert everything.held_out is None
    assert set(everything.fit_families) == {"espeak-ng", "flite", "piper", "replay"}


def test_a_split_needs_two_speakers() -> None:
    with pytest.raises(InvalidInputError):
        split_corpus([clip(speaker="fsdd:a")])


def test_clips_without_a_score_are_left_out() -> None:
    rows = [
        {
            "path": p,
            "label": "bonafide",
            "family": "fsdd",
            "speaker": "fsdd:a",
            "channel": "g711",
            "text_id": "d",
        }
        for p in ("a", "b", "c")
    ]
    clips = scored_clips(rows, {"a": (1.5, 2.0), "c": (math.nan, 0.1)})
    assert [(c.path, c.raw) for c in clips] == [("a", 1.5)]


# Baselines, attempts and the operating point.


def test_a_genuine_call_is_judged_against_the_speakers_other_texts() -> None:
    clips = [
        clip(speaker="fsdd:a", text="1", channel="g711", raw=1.0),
        clip(speaker="fsdd:a", text="2", channel="g711", raw=3.0),
        clip(speaker="fsdd:a", text="1", channel="loud", raw=8.0),
        clip(speaker="fsdd:b", text="9", channel="g711", raw=0.0),
    ]
    calls = {
        (c.clip.speaker, c.clip.channel, c.clip.text_id): c.baseline for c in genuine_calls(clips)
    }
    assert calls["fsdd:a", "loud", "1"] == 3.0  # text 2 only
    assert calls["fsdd:a", "g711", "2"] == 1.0
    assert calls["fsdd:b", "g711", "9"] is None  # no other sample: probability alone


def test_synthetic_speech_is_tried_against_everyone_and_a_replay_against_its_victim() -> None:
    clips = [
        clip(speaker="fsdd:a", text="1", channel="g711", raw=1.0),
        clip(speaker="fsdd:a", text="2", channel="g711", raw=2.0),
        clip(speaker="fsdd:b", text="1", channel="g711", raw=-1.0),
        clip(label="spoof", family="replay", speaker="fsdd:a", text="1", channel="g711", raw=5.0),
        clip(label="spoof", family="piper", speaker="piper:joe", text="t1", raw=6.0),
    ]
    attempts = spoof_attempts(clips)
    replay = [a for a in attempts if a.group == "replay"]
    assert [a.baseline for a in replay] == [2.0]
    piper = [a.baseline for a in attempts if a.group == "piper"]
    assert len(piper) == 2  # one attempt per enrolled person
    assert sorted(b for b in piper if b is not None) == [-1.0, 1.5]


def _operating_corpus() -> list[ScoredClip]:
    rng = np.random.default_rng(3)
    clips = []
    for s in range(20):
        level = rng.normal(0, 2)  # some people always score higher: the baseline absorbs it
        for t in range(4):
            for channel in ("clean", "g711", "mobile"):
                clips.append(
                    clip(
                        speaker=f"librispeech:{s}",
                        text=f"u{t}",
                        channel=channel,
                        raw=float(level + rng.normal(0, 1)),
                    )
                )
    for family, centre in (("espeak-ng", 12.0), ("piper", 5.0)):
        clips += [
            clip(
                label="spoof",
                family=family,
                speaker=f"{family}:v",
                text=f"t{i}",
                raw=float(centre + rng.normal(0, 2)),
            )
            for i in range(40)
        ]
    return clips


def test_the_chosen_point_meets_its_targets_on_the_fit_data() -> None:
    clips = _operating_corpus()
    labels = [0 if c.label == "bonafide" else 1 for c in clips]
    weights = group_weights(
        labels,
        [c.family if spoofed else c.channel for c, spoofed in zip(clips, labels, strict=True)],
    )
    calibration = fit_logistic([c.raw for c in clips], labels, weights, detector_id=ID)
    chosen = choose(clips, calibration, Targets(step_up_share=0.05, refuse_share=0.005))
    gate = chosen.gate
    assert gate.elevated_probability <= gate.step_up_probability <= gate.refuse_enroll_probability
    genuine = outcomes(genuine_calls(clips), gate, calibration)
    worst = max(genuine[channel]["step_up"] for channel in ("clean", "g711", "mobile"))
    assert worst <= 0.05 + 1e-9  # in every channel, not only pooled
    assert chosen.fit_step_up_share == pytest.approx(worst, abs=0.01)
    spoofs = outcomes(spoof_attempts(clips), gate, calibration)
    assert spoofs["espeak-ng"]["accept"] < 0.05  # far from every genuine voice: caught
    assert spoofs["piper"]["accept"] < spoofs["espeak-ng"]["accept"] + 1.0
    assert chosen.fit_catch_share == pytest.approx(spoofs["(mean)"]["step_up"], abs=0.02)
    assert spoofs["(mean)"]["accept"] == pytest.approx(
        (spoofs["espeak-ng"]["accept"] + spoofs["piper"]["accept"]) / 2, abs=1e-4
    )
    refused = sum(
        gate.refuses_enrollment(calibration.probability(c.raw))
        for c in clips
        if c.label == "bonafide"
    )
    assert refused <= 0.005 * 240


def test_a_stricter_target_steps_up_fewer_genuine_calls() -> None:
    clips = _operating_corpus()
    labels = [0 if c.label == "bonafide" else 1 for c in clips]
    calibration = fit_logistic([c.raw for c in clips], labels, np.ones(len(clips)), detector_id=ID)
    loose = choose(clips, calibration, Targets(step_up_share=0.2))
    strict = choose(clips, calibration, Targets(step_up_share=0.01))
    assert strict.fit_step_up_share <= 0.01 < loose.fit_step_up_share
    assert strict.fit_catch_share <= loose.fit_catch_share


def test_outcomes_follow_the_services_gate() -> None:
    calibration = SpoofCalibration(scale=1.0, offset=0.0, detector_id=ID)
    gate = SpoofGate(step_up_probability=0.5, elevated_probability=0.25, baseline_margin=3.0)
    clips = [
        clip(speaker="fsdd:a", text="1", channel="g711", raw=0.0),
        clip(speaker="fsdd:a", text="2", channel="g711", raw=2.0),
        clip(speaker="fsdd:a", text="3", channel="loud", raw=4.0),  # p high, but 3 over 1.0
        clip(speaker="fsdd:a", text="3", channel="mobile", raw=3.9),  # 2.9 over: not enough
    ]
    found = outcomes(genuine_calls(clips), gate, calibration)
    assert found["loud"]["step_up"] == 1.0
    assert found["mobile"]["step_up"] == 0.0
    assert found["mobile"]["elevated_or_high"] == 1.0
    assert found["(all)"]["trials"] == 4
