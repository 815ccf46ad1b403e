"""AASIST in onnxruntime: the SpoofDetector contract, equal to torch, exported once."""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.contract.spoof_detector_contract import SpoofDetectorContract
from tests.integration.real_antispoof import SOFTMAX, aasist, aasist_weights
from tests.integration.real_model import cache_dir, speech
from voiceauth_adapters.antispoof import DETECTOR_ID, AasistDetector, export_dir_for, onnx_path
from voiceauth_adapters.antispoof.detector import fill_window, normalise_level
from voiceauth_adapters.antispoof.export import PARITY_TOLERANCE
from voiceauth_adapters.antispoof.network import Model, load_network
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
