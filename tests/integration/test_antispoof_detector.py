"""AASIST in onnxruntime: the SpoofDetector contract, equal to torch, exported once."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.contract.spoof_detector_contract import SpoofDetectorContract
from tests.integration.real_antispoof import SOFTMAX, aasist, aasist_weights
from tests.integration.real_model import cache_dir, speech
from voiceauth_adapters.antispoof import (
    DETECTOR_ID,
    AasistDetector,
    export_dir_for,
    onnx_path,
    shipped_backend,
    shipped_calibration,
)
from voiceauth_adapters.antispoof.band import log_high_band
from voiceauth_adapters.antispoof.detector import fill_window, normalise_level
from voiceauth_adapters.antispoof.export import HIDDEN_SIZE, PARITY_TOLERANCE
from voiceauth_adapters.antispoof.network import Model, load_network
from voiceauth_adapters.audio import G711Line
from voiceauth_adapters.inference import WorkerPool
from voiceauth_adapters.speechbrain import ModelIntegrityError
from voiceauth_core import Audio, ModelMismatchError, ServiceBusyError, SpoofCalibration

pytestmark = pytest.mark.integration


class TestAasistDetector(SpoofDetectorContract):
    @pytest.fixture
    def detector(self) -> AasistDetector:
        return aasist()

    @pytest.fixture
    def speech_clip(self) -> Audio:
        return Audio.concatenate([speech("103_a"), speech("103_b")])


@functools.cache
def _network() -> Model:
    return load_network(aasist_weights())


def _torch_scores(windows: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        logits = _network()(torch.from_numpy(windows))[1]
    return (logits[:, 0] - logits[:, 1]).numpy()


@pytest.mark.parametrize("name", ["103_a", "1088_b", "1098_a"])
def test_onnx_scores_equal_torch_on_real_speech(name: str) -> None:
    samples = speech(name).samples
    rows = aasist().scores(samples)
    windows = np.stack([fill_window(samples[start:end]) for start, end, _ in rows])
    expected = _torch_scores(windows)
    assert np.max(np.abs(np.array([s for _, _, s in rows]) - expected)) <= PARITY_TOLERANCE


def test_short_speech_is_repeated_to_fill_the_window() -> None:
    second = speech("1088_a").samples[16000:32000]
    filled = fill_window(second)
    assert len(filled) == 64_600
    assert np.array_equal(filled[16000:32000], second)  # the clip again, from its start
    ((start, end, score),) = aasist().scores(second)
    assert (start, end) == (0, 16000)
    assert score == pytest.approx(float(_torch_scores(filled[None])[0]), abs=PARITY_TOLERANCE)


async def test_the_probability_is_the_calibrated_mean() -> None:
    clip = Audio.concatenate([speech("1098_a"), speech("1098_b")])
    shifted = SpoofCalibration(scale=0.5, offset=-2.0, detector_id=DETECTOR_ID)
    weights = aasist_weights()
    detector = AasistDetector.load(
        weights, export_dir=export_dir_for(weights, cache_dir()), calibration=shifted
    )
    assessment = await detector.assess(clip)
    assert assessment.combined == pytest.approx(float(np.mean(assessment.scores)))
    assert assessment.probability == pytest.approx(shifted.probability(assessment.combined))


def test_a_calibration_of_another_detector_is_refused(tmp_path: Path) -> None:
    other = SpoofCalibration(scale=1.0, offset=0.0, detector_id="fake-spectral-flux")
    with pytest.raises(ModelMismatchError):
        AasistDetector.load(aasist_weights(), export_dir=tmp_path, calibration=other)
    assert not list(tmp_path.iterdir())  # refused before any export


def test_the_export_is_named_by_the_weights_and_reused(tmp_path: Path) -> None:
    AasistDetector.load(aasist_weights(), export_dir=tmp_path, calibration=SOFTMAX)
    path = onnx_path(tmp_path)
    assert path.is_file()
    assert path.stat().st_mode & 0o777 == 0o644  # made as root, read by the service's user
    before = path.stat().st_mtime_ns
    AasistDetector.load(aasist_weights(), export_dir=tmp_path, calibration=SOFTMAX)
    assert path.stat().st_mtime_ns == before
    assert not list(tmp_path.glob("*.part"))
    # A damaged export is made again.
    path.write_bytes(b"not an onnx model")
    detector = AasistDetector.load(aasist_weights(), export_dir=tmp_path, calibration=SOFTMAX)
    assert len(detector.scores(speech("103_a").samples)) == 2


def test_tampered_weights_are_refused_at_load(tmp_path: Path) -> None:
    weights = tmp_path / "AASIST.pth"
    data = bytearray(aasist_weights().read_bytes())
    data[len(data) // 2] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="REFUSED"):
        AasistDetector.load(weights, export_dir=tmp_path, calibration=SOFTMAX)
    assert not onnx_path(tmp_path).exists()


async def test_assessments_share_the_speaker_models_worker_pool() -> None:
    """The service hands AASIST the embedding pool: a full pool refuses an assessment instead
    of running a third network beside the two it already runs."""
    pool = WorkerPool(workers=1, queue_timeout=0.0)
    weights = aasist_weights()
    detector = AasistDetector.load(
        weights, export_dir=export_dir_for(weights, cache_dir()), calibration=SOFTMAX, workers=pool
    )
    clip = Audio.concatenate([speech("103_a"), speech("103_b")])
    release = threading.Event()
    try:
        holder = asyncio.create_task(pool.run(release.wait))
        while pool.busy == 0:  # noqa: ASYNC110 - a worker thread's progress has no event
            await asyncio.sleep(0.01)
        with pytest.raises(ServiceBusyError):
            await detector.assess(clip)
        release.set()
        await holder
        assessment = await detector.assess(clip)
        assert 0.0 <= assessment.probability <= 1.0
        assert pool.busy == 0
    finally:
        release.set()
        pool.close()


async def test_windows_scored_side_by_side_equal_the_sequential_scores() -> None:
    pool = WorkerPool(workers=2, queue_timeout=30.0)
    weights = aasist_weights()
    detector = AasistDetector.load(
        weights, export_dir=export_dir_for(weights, cache_dir()), calibration=SOFTMAX, workers=pool
    )
    clip = Audio.concatenate([speech(name) for name in ("103_a", "103_b", "1088_a")])
    try:
        assessment = await detector.assess(clip)
    finally:
        pool.close()
    expected = detector.scores(normalise_level(clip.samples))
    assert len(expected) >= 3  # more windows than workers: shared out, then put back in order
    assert [(s.start_s, s.end_s) for s in assessment.segments] == [
        (a / 16000, b / 16000) for a, b, _ in expected
    ]
    assert [s.score for s in assessment.segments] == pytest.approx([s for _, _, s in expected])


# ---- the back-end on the network's outputs -------------------------------------------------


def test_the_exported_hidden_representation_equals_torch() -> None:
    samples = normalise_level(Audio.concatenate([speech("1088_a"), speech("1088_b")]).samples)
    rows = aasist().hidden(samples)
    windows = np.stack([fill_window(samples[start:end]) for start, end, _, _ in rows])
    with torch.inference_mode():
        hidden, logits = _network()(torch.from_numpy(windows))
    assert np.array([h for *_, h in rows]).shape == (len(rows), HIDDEN_SIZE)
    assert np.max(np.abs(np.stack([h for *_, h in rows]) - hidden.numpy())) <= PARITY_TOLERANCE
    scores = (logits[:, 0] - logits[:, 1]).numpy()
    assert np.max(np.abs(np.array([s for _, _, s, _ in rows]) - scores)) <= PARITY_TOLERANCE


def _with_backend(**kwargs: object) -> AasistDetector:
    weights = aasist_weights()
    return AasistDetector.load(
        weights,
        export_dir=export_dir_for(weights, cache_dir()),
        calibration=shipped_calibration(),
        backend=shipped_backend(),
        **kwargs,  # type: ignore[arg-type]
    )


class TestAasistDetectorWithItsBackend(SpoofDetectorContract):
    """The detector as the service runs it: the shipped back-end and calibration."""

    @pytest.fixture
    def detector(self) -> AasistDetector:
        return _with_backend()

    @pytest.fixture
    def speech_clip(self) -> Audio:
        return Audio.concatenate([speech("103_a"), speech("103_b")])


@pytest.mark.parametrize("phone", [False, True])
async def test_the_backend_scores_the_windows_outputs(phone: bool) -> None:
    clip = Audio.concatenate([speech("1098_a"), speech("1098_b")])
    if phone:
        clip = await G711Line().transmit(clip)
    detector = _with_backend()
    backend = shipped_backend()
    assert detector.detector_id == backend.scored_id == shipped_calibration().detector_id
    assessment = await detector.assess(clip)
    line = backend.line(log_high_band(clip))
    assert line == ("narrow" if phone else "wide")
    rows = aasist().hidden(clip.samples)
    assert len(rows) >= 2  # the call's distance is its windows' mean's, each window's raw its own
    expected = backend.scores([r for _, _, r, _ in rows], [h for *_, h in rows], line=line)
    assert assessment.scores == pytest.approx(expected, abs=1e-4)
    assert assessment.probability == pytest.approx(
        shipped_calibration().probability(float(np.mean(expected))), abs=1e-6
    )


def test_a_calibration_of_the_bare_network_cannot_calibrate_the_backend(tmp_path: Path) -> None:
    with pytest.raises(ModelMismatchError):
        AasistDetector.load(
            aasist_weights(), export_dir=tmp_path, calibration=SOFTMAX, backend=shipped_backend()
        )
    other = dataclasses.replace(shipped_backend(), detector_id="aasist@00000000")
    with pytest.raises(ModelMismatchError):
        AasistDetector.load(
            aasist_weights(), export_dir=tmp_path, calibration=shipped_calibration(), backend=other
        )
    assert not list(tmp_path.iterdir())  # refused before any export
