"""A bounded worker pool for CPU-bound model work, and the embedding model over it.

Inference never runs on the event loop: each call takes a worker slot (waiting at most
``queue_timeout`` seconds for one) and then runs on one of ``workers`` threads. When every slot
stays taken past the wait, the call fails with ``ServiceBusyError`` (HTTP 503) instead of piling
up unbounded work behind a saturated CPU. The speaker model and the anti-spoofing network share
one :class:`WorkerPool`, so together they never run more computations at once than the pool
has workers (one per core by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.embedding import Embedding
from voiceauth_core.errors import AudioProcessingError, ServiceBusyError

__all__ = ["BatchEmbedder", "BoundedInferencePool", "WorkerPool", "usable_cores"]

#: The shortest input embedded (0.1 s), as in the SpeechBrain adapter.
MIN_SAMPLES = CANONICAL_RATE // 10

_T = TypeVar("_T")


class BatchEmbedder(Protocol):
    """A model with a synchronous, thread-safe batch compute (both backends have one)."""

    @property
    def model_id(self) -> str:
        """The model and weights its embeddings belong to."""
        ...

    def embed_batch(self, batch: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float64]:
        """One unit vector per 16 kHz recording."""
        ...


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class WorkerPool:
    """N worker threads behind N slots, and a bounded wait for a slot.

    Args:
        workers: Computations that run at once (0: one per usable core).
        queue_timeout: Seconds a call waits for a free worker before ``ServiceBusyError``.
        nice: Added to each worker thread's niceness (Linux; 0 leaves it): the event loop,
            which reads the calls' audio and answers health checks, then wins a busy CPU.
    """

    def __init__(self, *, workers: int = 0, queue_timeout: float, nice: int = 0) -> None:
        if queue_timeout < 0:
            raise ValueError("queue_timeout must be >= 0")
        if not 0 <= nice <= 19:
            raise ValueError("nice must be between 0 and 19")
        self.workers = workers or usable_cores()
        self.nice = nice
        self._queue_timeout = queue_timeout
        self._executor = ThreadPoolExecutor(
            self.workers,
            thread_name_prefix="inference",
            initializer=_lower_priority,
            initargs=(nice,),
        )
        # Created lazily: an asyncio primitive belongs to the loop that first waits on it.
        self._slots: asyncio.Semaphore | None = None
        self._taken = 0

    @property
    def busy(self) -> int:
        """Worker slots taken right now (running or about to run)."""
        return self._taken

    async def run(self, compute: Callable[..., _T], *args: object) -> _T:
        """``compute(*args)`` on a worker thread, once a slot is free.

        Raises:
            ServiceBusyError: No worker became free within ``queue_timeout`` seconds.
        """
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        slots = self._slots
        if not slots.locked():
            await slots.acquire()  # a free slot: taken without suspending
        elif self._queue_timeout == 0:
            raise self._busy()
        else:
            try:
                await asyncio.wait_for(slots.acquire(), timeout=self._queue_timeout)
            except TimeoutError as exc:
                raise self._busy() from exc
        self._taken += 1
        loop = asyncio.get_running_loop()

        def release() -> None:
            self._taken -= 1
            slots.release()

        try:
            future = self._executor.submit(compute, *args)
        except BaseException:
            release()
            raise
        # The slot frees when the thread finishes, not when the caller stops waiting: a
        # cancelled request (client gone) still occupies its core until the compute ends.
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(release))
        return await asyncio.wrap_future(future)

    def _busy(self) -> ServiceBusyError:
        return ServiceBusyError(
            f"all {self.workers} inference workers stayed busy for "
            f"{self._queue_timeout:g} s; retry later"
        )

    def close(self) -> None:
        """Stop the worker threads (waits for running computations)."""
        self._executor.shutdown(wait=True)


def _lower_priority(nice: int) -> None:
    """Make the calling thread ``nice`` steps nicer (on Linux, niceness is per thread)."""
    if nice == 0 or not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    with contextlib.suppress(OSError):  # best effort: a sandbox may refuse it
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + nice)


class BoundedInferencePool:
    """``EmbeddingModel`` over a ``BatchEmbedder``, computed in a :class:`WorkerPool`.

    Args:
        model: The synchronous model (its ``embed_batch`` must be safe to call from threads).
        workers: Inference calls that run at once (0: one per usable core).
        queue_timeout: Seconds a call waits for a free worker before ``ServiceBusyError``.
        nice: Added to the worker threads' niceness (see :class:`WorkerPool`).
    """

    def __init__(
        self, model: BatchEmbedder, *, workers: int = 0, queue_timeout: float, nice: int = 0
    ) -> None:
        self._model = model
        self.worker_pool = WorkerPool(workers=workers, queue_timeout=queue_timeout, nice=nice)

    @property
    def model_id(self) -> str:
        """The wrapped model's identifier."""
        return self._model.model_id

    @property
    def workers(self) -> int:
        """Computations that run at once."""
        return self.worker_pool.workers

    @property
    def busy(self) -> int:
        """Worker slots taken right now (running or about to run), by any user of the pool."""
        return self.worker_pool.busy

    async def embed(self, audio: Audio) -> Embedding:
        """The speaker embedding of 16 kHz speech, computed on a worker thread.

        Raises:
            AudioProcessingError: The audio is at another rate or shorter than 0.1 s.
            ServiceBusyError: No worker became free within ``queue_timeout`` seconds.
        """
        if audio.sample_rate != CANONICAL_RATE:
            raise AudioProcessingError(
                f"the model needs {CANONICAL_RATE} Hz audio, not {audio.sample_rate} Hz",
                reason="bad_rate",
            )
        if len(audio.samples) < MIN_SAMPLES:
            raise AudioProcessingError("too little speech to embed", reason="too_short")
        vectors = await self.worker_pool.run(self._model.embed_batch, [audio.samples])
        return Embedding.from_vector(vectors[0], self._model.model_id)

    def close(self) -> None:
        """Stop the worker threads (waits for running inferences) and close the model."""
        self.worker_pool.close()
        close = getattr(self._model, "close", None)
        if callable(close):
            close()
