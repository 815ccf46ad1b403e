"""The bounded inference pool over the real ONNX model: saturation refuses, the loop runs."""

from __future__ import annotations

import asyncio
import functools
import time
from pathlib import Path

import numpy as np
import pytest

from tests.integration.real_model import model_files, speech
from voiceauth_adapters.inference import BoundedInferencePool
from voiceauth_adapters.onnx import OnnxEcapa
from voiceauth_core import Audio, AudioProcessingError, ServiceBusyError

pytestmark = pytest.mark.integration


@functools.cache
def onnx_model(export_dir: Path) -> OnnxEcapa:
    return OnnxEcapa.load(model_files(), export_dir=export_dir, threads=1)


@pytest.fixture
def model(tmp_path_factory: pytest.TempPathFactory) -> OnnxEcapa:
    return onnx_model(tmp_path_factory.getbasetemp() / "onnx-export")


def long_speech() -> Audio:
    """30 s of real speech (the fixture clips end to end, repeated)."""
    names = ["103_a", "103_b", "1088_a", "1088_b", "1098_a", "1098_b"]
    samples = np.concatenate([speech(name).samples for name in names] * 2)[: 30 * 16000]
    return Audio(samples=samples, sample_rate=16000)


async def test_a_saturated_pool_refuses_with_service_busy(model: OnnxEcapa) -> None:
    pool = BoundedInferencePool(model, workers=1, queue_timeout=0.0)
    try:
        first = asyncio.create_task(pool.embed(long_speech()))
        while pool.busy == 0:  # noqa: ASYNC110 - a worker thread's progress has no event
            await asyncio.sleep(0)
        with pytest.raises(ServiceBusyError, match="1 inference workers"):
            await pool.embed(speech("103_a"))
        assert (await first).model_id == model.model_id
        # The slot is free again: the next call runs.
        assert pool.busy == 0
        await pool.embed(speech("103_a"))
    finally:
        pool.close()


async def test_a_bounded_wait_times_out_then_a_queued_call_runs(model: OnnxEcapa) -> None:
    pool = BoundedInferencePool(model, workers=1, queue_timeout=0.001)
    try:
        first = asyncio.create_task(pool.embed(long_speech()))
        while pool.busy == 0:  # noqa: ASYNC110 - a worker thread's progress has no event
            await asyncio.sleep(0)
        with pytest.raises(ServiceBusyError):
            await pool.embed(speech("103_a"))
        await first
    finally:
        pool.close()
    patient = BoundedInferencePool(model, workers=1, queue_timeout=60.0)
    try:
        results = await asyncio.gather(*(patient.embed(speech("103_a")) for _ in range(3)))
        assert len({result.vector.tobytes() for result in results}) == 1
    finally:
        patient.close()


async def test_a_cancelled_caller_keeps_its_slot_until_the_compute_ends(model: OnnxEcapa) -> None:
    pool = BoundedInferencePool(model, workers=1, queue_timeout=0.0)
    try:
        first = asyncio.create_task(pool.embed(long_speech()))
        while pool.busy == 0:  # noqa: ASYNC110 - a worker thread's progress has no event
            await asyncio.sleep(0)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        # The thread still computes: admitting another call would oversubscribe the cores.
        with pytest.raises(ServiceBusyError):
            await pool.embed(speech("103_a"))
        while pool.busy:  # noqa: ASYNC110 - a worker thread's progress has no event
            await asyncio.sleep(0.01)
        await pool.embed(speech("103_a"))
    finally:
        pool.close()


async def test_the_event_loop_keeps_running_during_inference(model: OnnxEcapa) -> None:
    pool = BoundedInferencePool(model, workers=2, queue_timeout=60.0)
    gaps: list[float] = []

    async def ticker(stop: asyncio.Event) -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    try:
        stop = asyncio.Event()
        ticks = asyncio.create_task(ticker(stop))
        started = time.perf_counter()
        await asyncio.gather(*(pool.embed(long_speech()) for _ in range(4)))
        busy_for = time.perf_counter() - started
        stop.set()
        await ticks
    finally:
        pool.close()
    # Four 30 s embeddings take most of a second or more; a blocked loop would show one gap
    # that long. The loop kept ticking throughout instead.
    assert len(gaps) > 10
    assert max(gaps) < busy_for / 2


async def test_bad_audio_is_refused_before_taking_a_slot(model: OnnxEcapa) -> None:
    pool = BoundedInferencePool(model, workers=1, queue_timeout=0.0)
    try:
        with pytest.raises(AudioProcessingError, match="Hz"):
            await pool.embed(Audio(samples=np.zeros(16000, np.float32), sample_rate=8000))
        with pytest.raises(AudioProcessingError, match="too little"):
            await pool.embed(Audio(samples=np.zeros(100, np.float32), sample_rate=16000))
        assert pool.busy == 0
    finally:
        pool.close()
