"""The worker pool's queue: a caller that gives up waiting costs nothing and blocks nobody."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from voiceauth_adapters.inference import WorkerPool

pytestmark = pytest.mark.unit


async def test_a_cancelled_waiter_leaves_the_queue_and_its_work_never_runs() -> None:
    pool = WorkerPool(workers=1, queue_timeout=30.0)
    release = threading.Event()
    ran: list[str] = []

    def work(name: str) -> str:
        if name == "first":
            release.wait(10)
        ran.append(name)
        return name

    try:
        first = asyncio.create_task(pool.run(work, "first"))
        while pool.busy == 0:  # noqa: ASYNC110 - a worker thread's progress has no event
            await asyncio.sleep(0)
        stale = asyncio.create_task(pool.run(work, "stale"))
        fresh = asyncio.create_task(pool.run(work, "fresh"))
        await asyncio.sleep(0.01)  # both wait for the one worker
        stale.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stale
        release.set()
        assert await first == "first"
        assert await fresh == "fresh"
        # The cancelled request was never computed, and the next one took its turn.
        assert ran == ["first", "fresh"]
        assert pool.busy == 0
    finally:
        release.set()
        pool.close()


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_the_workers_run_nicer_than_the_event_loop_when_asked() -> None:
    for nice in (0, 7):
        pool = WorkerPool(workers=2, queue_timeout=1.0, nice=nice)
        try:
            assert await pool.run(_niceness) == _niceness() + nice
        finally:
            pool.close()
    with pytest.raises(ValueError, match="nice"):
        WorkerPool(workers=1, queue_timeout=1.0, nice=20)
