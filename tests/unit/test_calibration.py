"""AS-norm, calibration and the calibrated policy: monotone, bounded, fitted as expected."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceauth_core import (
    CapturePlan,
    Decision,
    Embedding,
    Enroll,
    Enrollment,
    EnrollmentSample,
    QualityGate,
    Score,
    UserId,
    Verify,
)
from voiceauth_core.calibration import (
    AsNorm,
    BandEstimator,
    CalibratedPolicy,
    Calibration,
    Cohort,
    fit_calibration,
    logit,
    sigmoid,
)
from voiceauth_core.errors import InvalidInputError, ModelMismatchError
from voiceauth_core.testing import (
    ALICE,
    BOB,
    EnergySpeechDetector,
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryStore,
    InMemoryUserRepository,
    ManualClock,
    SpectralEmbeddingModel,
    synthetic_voice,
)

pytestmark = pytest.mark.unit

MODEL = "test/model"
DIM = 16


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=DIM)
    return v / np.linalg.norm(v)


def _cohort(seed: int = 1, size: int = 40) -> Cohort:
    rng = np.random.default_rng(seed)
    return Cohort(embeddings=rng.normal(size=(size, DIM)), model_id=MODEL)


def _enrollment(vector: np.ndarray) -> Enrollment:
    sample = EnrollmentSample(embedding=Embedding.from_vector(vector, MODEL), speech_seconds=5.0)
    return Enrollment.start(
        user_id=UserId.new(), phone=None, sample=sample, now=datetime(2026, 1, 1, tzinfo=UTC)
    )


CALIBRATION = Calibration(
    slope=2.0,
    bias=-6.0,
    slope_per_log_s=0.5,
    bias_per_log_s=0.3,
    slope_mismatch=-1.0,
    bias_mismatch=1.5,
)


def test_cohort_rows_are_normalised_and_read_only() -> None:
    cohort = _cohort()
    assert np.allclose(np.linalg.norm(cohort.embeddings, axis=1), 1.0)
    with pytest.raises(ValueError, match="read-only"):
        cohort.embeddings[0, 0] = 1.0


def test_cohort_refuses_bad_matrices_and_other_models() -> None:
    with pytest.raises(InvalidInputError):
        Cohort(embeddings=np.zeros((3, DIM)), model_id=MODEL)
    with pytest.raises(InvalidInputError):
        Cohort(embeddings=np.ones((1, DIM)), model_id=MODEL)
    rng = np.random.default_rng(0)
    other = Embedding.from_vector(_unit(rng), "other/model")
    with pytest.raises(ModelMismatchError):
        _cohort().top_stats(other, 5)


def test_top_stats_match_a_direct_computation() -> None:
    cohort = _cohort()
    rng = np.random.default_rng(5)
    probe = Embedding.from_vector(_unit(rng), MODEL)
    scores = np.sort(cohort.embeddings @ probe.vector)[-10:]
    mean, std = cohort.top_stats(probe, 10)
    assert mean == pytest.approx(scores.mean())
    assert std == pytest.approx(scores.std())


def test_asnorm_matches_the_formula() -> None:
    cohort = _cohort()
    rng = np.random.default_rng(9)
    e, p = (Embedding.from_vector(_unit(rng), MODEL) for _ in range(2))
    me, se = cohort.top_stats(e, 8)
    mp, sp = cohort.top_stats(p, 8)
    raw = e.cosine(p)
    expected = 0.5 * ((raw - me) / se + (raw - mp) / sp)
    assert AsNorm(cohort=cohort, top_k=8).normalise(e, p, raw) == pytest.approx(expected)


def test_mean_only_asnorm_removes_the_adaptive_means() -> None:
    cohort = _cohort()
    rng = np.random.default_rng(9)
    e, p = (Embedding.from_vector(_unit(rng), MODEL) for _ in range(2))
    me, _ = cohort.top_stats(e, 8)
    mp, _ = cohort.top_stats(p, 8)
    raw = e.cosine(p)
    got = AsNorm(cohort=cohort, top_k=8, scale=False).normalise(e, p, raw)
    assert got == pytest.approx(raw - (me + mp) / 2)


@given(a=st.floats(-1, 1), b=st.floats(-1, 1), seed=st.integers(0, 1000), scale=st.booleans())
def test_asnorm_is_increasing_in_the_raw_score(a: float, b: float, seed: int, scale: bool) -> None:
    rng = np.random.default_rng(seed)
    e, p = (Embedding.from_vector(_unit(rng), MODEL) for _ in range(2))
    norm = AsNorm(cohort=_cohort(), top_k=10, scale=scale)
    low, high = sorted((a, b))
    assert norm.normalise(e, p, low) <= norm.normalise(e, p, high)


def test_band_estimator_points_from_wide_to_phone() -> None:
    rng = np.random.default_rng(2)
    speakers = rng.normal(size=(30, DIM))
    channel = np.zeros(DIM)
    channel[0] = 3.0  # "the phone line" adds this offset to every voice
    wide = Cohort(embeddings=speakers, model_id=MODEL)
    phone = Cohort(embeddings=speakers + channel, model_id=MODEL)
    band = BandEstimator.from_cohorts(wide=wide, phone=phone, centre=0.25, width=0.05)
    assert band.direction[0] > 0.9
    heard_wide = Embedding.from_vector(speakers[0], MODEL)
    heard_phone = Embedding.from_vector(speakers[0] + channel, MODEL)
    assert band.band_score(heard_phone) > band.band_score(heard_wide)
    assert 0.0 <= band.phone_likeness(heard_wide) < band.phone_likeness(heard_phone) <= 1.0
    with pytest.raises(ModelMismatchError):
        band.band_score(Embedding.from_vector(speakers[0], "other/model"))
    with pytest.raises(InvalidInputError):
        BandEstimator(direction=np.zeros(DIM), model_id=MODEL)


@given(
    a=st.floats(-50, 50),
    b=st.floats(-50, 50),
    seconds=st.floats(0.0, 60.0),
    mismatch=st.floats(-1.0, 2.0),
)
def test_calibration_is_monotone_and_bounded(
    a: float, b: float, seconds: float, mismatch: float
) -> None:
    low, high = sorted((a, b))
    lo = sigmoid(CALIBRATION.log_odds(low, speech_seconds=seconds, mismatch=mismatch))
    hi = sigmoid(CALIBRATION.log_odds(high, speech_seconds=seconds, mismatch=mismatch))
    assert 0.0 < lo <= hi < 1.0


def test_calibration_refuses_a_map_that_decreases_somewhere() -> None:
    # slope + slope_per_log_s * ln(10) < 0: decreasing with the score for long speech.
    with pytest.raises(InvalidInputError):
        Calibration(slope=1.0, bias=0.0, slope_per_log_s=-1.0)
    # Decreasing for mismatched channels only.
    with pytest.raises(InvalidInputError):
        Calibration(slope=1.0, bias=0.0, slope_mismatch=-1.5)
    with pytest.raises(InvalidInputError):
        Calibration(slope=float("nan"), bias=0.0)


def test_sigmoid_and_logit_are_inverse() -> None:
    for p in (0.01, 0.5, 0.82, 0.999):
        assert sigmoid(logit(p)) == pytest.approx(p)
    assert sigmoid(1e9) < 1.0
    assert sigmoid(-1e9) > 0.0
    with pytest.raises(InvalidInputError):
        logit(1.0)


def test_fit_recovers_the_generating_log_odds() -> None:
    # Scores drawn so that the true log-odds are 3 s - 1 (duration-independent), prior 0.5.
    rng = np.random.default_rng(11)
    n = 40_000
    scores = rng.uniform(-3, 4, n)
    seconds = rng.uniform(1, 10, n)
    labels = (rng.uniform(size=n) < 1 / (1 + np.exp(-(3 * scores - 1)))).astype(int)
    # Re-weighting to p_target=0.5 cancels the sample's class balance: correct for it.
    fitted = fit_calibration(scores, seconds, labels, p_target=0.5, l2=0.0)
    balance = math.log(np.mean(labels) / (1 - np.mean(labels)))
    assert fitted.slope == pytest.approx(3.0, abs=0.25)
    assert fitted.bias + balance == pytest.approx(-1.0, abs=0.25)
    assert abs(fitted.slope_per_log_s) < 0.2
    assert abs(fitted.bias_per_log_s) < 0.2
    assert (fitted.slope_mismatch, fitted.bias_mismatch) == (0.0, 0.0)


def test_fit_learns_a_channel_shift() -> None:
    # Mismatched trials score 1.0 lower for everyone; the fit must add it back.
    rng = np.random.default_rng(12)
    n = 60_000
    mismatch = (rng.uniform(size=n) < 0.5).astype(float)
    true = rng.uniform(-3, 4, n)
    labels = (rng.uniform(size=n) < 1 / (1 + np.exp(-(2 * true)))).astype(int)
    scores = true - mismatch
    seconds = rng.uniform(1, 10, n)
    fitted = fit_calibration(scores, seconds, labels, mismatch=mismatch, l2=0.0)
    matched = fitted.log_odds(1.0, speech_seconds=5.0, mismatch=0.0)
    shifted = fitted.log_odds(0.0, speech_seconds=5.0, mismatch=1.0)
    assert shifted == pytest.approx(matched, abs=0.3)


def test_fit_needs_both_classes() -> None:
    with pytest.raises(InvalidInputError):
        fit_calibration([1.0, 2.0], [3.0, 3.0], [1, 1])
    with pytest.raises(InvalidInputError):
        fit_calibration([1.0, 2.0], [3.0], [1, 0])


def _policy(threshold: float = 0.82) -> CalibratedPolicy:
    wide = _cohort(1)
    phone = Cohort(embeddings=wide.embeddings + 0.5, model_id=MODEL)
    return CalibratedPolicy(
        asnorm=AsNorm(cohort=_cohort(), top_k=10),
        calibration=CALIBRATION,
        band=BandEstimator.from_cohorts(wide=wide, phone=phone, centre=0.0, width=0.1),
        threshold=threshold,
        accept_margin=1.0,
        reject_margin=2.0,
    )


def test_policy_scores_its_own_voice_above_a_stranger() -> None:
    rng = np.random.default_rng(3)
    voice = _unit(rng)
    enrollment = _enrollment(voice)
    policy = _policy()
    probe = Embedding.from_vector(voice + 0.1 * _unit(rng), MODEL)
    same = policy.score(enrollment, probe, speech_seconds=5)
    other = policy.score(enrollment, Embedding.from_vector(_unit(rng), MODEL), speech_seconds=5)
    assert 0.0 < other.calibrated < same.calibrated < 1.0
    assert same.raw == pytest.approx(enrollment.centroid.cosine(probe))
    assert 0.0 <= policy.mismatch(enrollment.centroid, probe) <= 1.0
    assert policy.decide(same) is Decision.ACCEPT
    assert policy.decide(other) is Decision.REJECT
    assert policy.name == "asnorm-calibrated"


def _banded(rng: np.random.Generator, phone: float) -> tuple[np.ndarray, np.ndarray]:
    """A voice (orthogonal to the band direction) and that voice moved along the band."""
    direction = np.ones(DIM) / math.sqrt(DIM)
    voice = _unit(rng)
    voice = voice - (voice @ direction) * direction
    voice /= np.linalg.norm(voice)
    return voice, voice + phone * direction


def test_a_phone_caller_is_compared_with_the_phone_band_voiceprint() -> None:
    rng = np.random.default_rng(11)
    voice, wide = _banded(rng, -0.5)
    phone = voice + 0.5 * np.ones(DIM) / math.sqrt(DIM)
    twin = EnrollmentSample(
        embedding=Embedding.from_vector(wide, MODEL),
        speech_seconds=5.0,
        phone_band=Embedding.from_vector(phone, MODEL),
    )
    enrollment = Enrollment.start(
        user_id=UserId.new(), phone=None, sample=twin, now=datetime(2026, 1, 1, tzinfo=UTC)
    )
    policy = _policy()
    caller = Embedding.from_vector(phone + 0.2 * _unit(rng), MODEL)
    template, mismatch = policy.template(enrollment, caller)
    assert template is not enrollment.centroid
    assert enrollment.phone_band_centroid is not None
    assert template.vector == pytest.approx(enrollment.phone_band_centroid.vector)
    assert mismatch == pytest.approx(policy.mismatch(template, caller))
    assert mismatch < 0.5 < policy.mismatch(enrollment.centroid, caller)
    score = policy.score(enrollment, caller, speech_seconds=4)
    # The raw cosine stays the original service's: against the voiceprint as recorded.
    assert score.raw == pytest.approx(enrollment.centroid.cosine(caller))
    cosine = template.cosine(caller)
    expected = policy.calibration.log_odds(
        policy.asnorm.normalise(template, caller, cosine), speech_seconds=4, mismatch=mismatch
    )
    assert score.calibrated == pytest.approx(sigmoid(expected))
    # A wide-band caller is compared with the recorded voiceprint.
    wide_caller = Embedding.from_vector(wide + 0.2 * _unit(rng), MODEL)
    assert policy.template(enrollment, wide_caller)[0] is not template
    assert policy.template(enrollment, wide_caller)[0].vector == pytest.approx(
        enrollment.centroid.vector
    )


def test_without_a_closer_phone_band_voiceprint_the_recorded_one_is_used() -> None:
    rng = np.random.default_rng(12)
    voice, wide = _banded(rng, -0.5)
    policy = _policy()
    caller = Embedding.from_vector(voice + 0.5 * np.ones(DIM) / math.sqrt(DIM), MODEL)
    old = _enrollment(wide)  # enrolled before phone-band voiceprints existed
    assert old.phone_band_centroid is None
    template, mismatch = policy.template(old, caller)
    assert template.vector == pytest.approx(old.centroid.vector)
    assert mismatch > 0.5
    # A "phone-band" voiceprint that sounds even wider than the caller is not taken.
    wider = EnrollmentSample(
        embedding=Embedding.from_vector(wide, MODEL),
        speech_seconds=5.0,
        phone_band=Embedding.from_vector(voice - 0.8 * np.ones(DIM) / math.sqrt(DIM), MODEL),
    )
    enrollment = Enrollment.start(
        user_id=UserId.new(), phone=None, sample=wider, now=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert policy.template(enrollment, caller)[0].vector == pytest.approx(
        enrollment.centroid.vector
    )
    # Without a band estimator every trial is channel-matched: the recorded voiceprint.
    plain = CalibratedPolicy(asnorm=AsNorm(cohort=_cohort(), top_k=10), calibration=CALIBRATION)
    template, mismatch = plain.template(enrollment, caller)
    assert template.vector == pytest.approx(enrollment.centroid.vector)
    assert mismatch == 0.0
    with pytest.raises(InvalidInputError):
        CalibratedPolicy(
            asnorm=AsNorm(cohort=_cohort()), calibration=CALIBRATION, switch_mismatch=1.5
        )


def test_policy_refuses_a_probe_of_another_model() -> None:
    rng = np.random.default_rng(4)
    with pytest.raises(ModelMismatchError):
        _policy().score(
            _enrollment(_unit(rng)), Embedding.from_vector(_unit(rng), "x/y"), speech_seconds=3
        )


def test_early_decisions_need_the_margin() -> None:
    policy = _policy(0.82)
    point = logit(0.82)

    def at(odds: float) -> Score:
        return Score(calibrated=sigmoid(odds), raw=0.5)

    assert policy.early_decision(at(point + 1.01), speech_seconds=2) is Decision.ACCEPT
    assert policy.early_decision(at(point + 0.99), speech_seconds=2) is None
    assert policy.early_decision(at(point - 1.99), speech_seconds=2) is None
    assert policy.early_decision(at(point - 2.01), speech_seconds=2) is Decision.REJECT
    # The threshold at either end of [0, 1] disables early decisions instead of failing.
    assert _policy(1.0).early_decision(at(50.0), speech_seconds=2) is None


def test_policy_refuses_bad_settings() -> None:
    with pytest.raises(InvalidInputError):
        _policy(1.5)
    with pytest.raises(InvalidInputError):
        CalibratedPolicy(asnorm=AsNorm(cohort=_cohort()), calibration=CALIBRATION, accept_margin=-1)
    with pytest.raises(InvalidInputError):
        AsNorm(cohort=_cohort(), top_k=1)


async def test_verify_decides_with_the_calibrated_policy_over_the_fakes() -> None:
    """The calibrated policy drops into Verify unchanged: own voice accepted, stranger rejected."""
    model, detector, clock = SpectralEmbeddingModel(), EnergySpeechDetector(), ManualClock()
    # A cohort of other synthetic voices, embedded by the same fake model.
    others = [
        (await model.embed(synthetic_voice(f0=f0, formants=formants, seconds=3.0, seed=7))).vector
        for f0 in (95.0, 140.0, 170.0, 230.0, 260.0)
        for formants in ((500.0, 1500.0, 2500.0), (800.0, 1100.0, 2400.0), (350.0, 2200.0, 3000.0))
    ]
    cohort = Cohort(embeddings=np.array(others), model_id=model.model_id)
    policy = CalibratedPolicy(
        asnorm=AsNorm(cohort=cohort, top_k=5, scale=False),
        calibration=Calibration(slope=40.0, bias=-4.0),
        threshold=0.82,
        accept_margin=2.0,
        reject_margin=3.0,
    )
    store = InMemoryStore()
    users = InMemoryUserRepository(store)
    gate = QualityGate(min_enroll_speech_s=3.0, min_verify_speech_s=1.0)
    enroll = Enroll(model=model, detector=detector, users=users, clock=clock, gate=gate)
    verify = Verify(
        model=model,
        detector=detector,
        users=users,
        attempts=InMemoryAttemptLog(store),
        policy=policy,
        clock=clock,
        gate=gate,
        plan=CapturePlan(max_audio_s=20.0, check_every_s=1.0, target_speech_s=6.0),
    )
    user = UserId.new()
    await enroll.execute(
        user_id=user, phone=None, source=InMemoryAudioSource(ALICE.voice(seconds=6.0))
    )
    own = await verify.execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=10.0, seed=3)), user_id=user
    )
    stranger = await verify.execute(
        source=InMemoryAudioSource(BOB.voice(seconds=10.0, seed=4)), user_id=user
    )
    assert own.decision is Decision.ACCEPT
    assert stranger.decision is Decision.REJECT
    assert own.score is not None
    assert stranger.score is not None
    assert 0.0 < stranger.score.calibrated < 0.82 <= own.score.calibrated < 1.0
    # Clear cases are decided early, well before the 10 s the caller would have spoken.
    assert own.speech_seconds < 6.0
    assert stranger.speech_seconds < 6.0
