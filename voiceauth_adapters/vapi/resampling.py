"""Streaming rational resampling with an anti-aliasing filter, chunk by chunk, seamlessly.

:class:`StreamingResampler` gives the same samples as ``scipy.signal.resample_poly`` (Kaiser
window, beta 5) on the whole signal, however the input is split: it keeps the filter's history
between chunks and holds back the outputs that still need future input.
"""

from __future__ import annotations

from math import gcd

import numpy as np
import numpy.typing as npt

__all__ = ["StreamingResampler"]

_BLOCK = 4096  # outputs computed per vectorised step (bounds the temporary matrix)


class StreamingResampler:
    """Resamples a stream from ``source_rate`` to ``target_rate``.

    Feed chunks with :meth:`process`; call :meth:`flush` once at the end for the tail.

    Args:
        source_rate: The input's samples per second.
        target_rate: The output's samples per second.
    """

    def __init__(self, source_rate: int, target_rate: int) -> None:
        if source_rate <= 0 or target_rate <= 0:
            raise ValueError("sample rates must be positive")
        common = gcd(source_rate, target_rate)
        self._up = target_rate // common
        self._down = source_rate // common
        self._identity = self._up == self._down == 1
        if self._identity:
            return
        from scipy.signal import firwin  # noqa: PLC0415  # scipy only when rates differ

        rate = max(self._up, self._down)
        self._half = 10 * rate
        taps = firwin(2 * self._half + 1, 1.0 / rate, window=("kaiser", 5.0)) * self._up
        self._taps_per_phase = -(-len(taps) // self._up) + 1
        padded = np.zeros(self._taps_per_phase * self._up + self._up)
        padded[: len(taps)] = taps
        self._taps = padded
        self._buffer = np.zeros(0)
        self._base = 0  # absolute index of self._buffer[0]
        self._received = 0
        self._next = 0  # the next output index

    @property
    def identity(self) -> bool:
        """True when the rates are equal and samples pass through untouched."""
        return self._identity

    def process(self, samples: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        """The outputs that ``samples`` completes (possibly none)."""
        if self._identity:
            return np.asarray(samples, np.float32)
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, np.float64)])
        self._received += len(samples)
        last = (self._received * self._up - 1 - self._half) // self._down
        return self._emit(last + 1)

    def flush(self) -> npt.NDArray[np.float32]:
        """The remaining outputs, treating the input as ended (silence after it)."""
        if self._identity:
            return np.zeros(0, np.float32)
        total = -(-self._received * self._up // self._down)
        return self._emit(total)

    def _emit(self, stop: int) -> npt.NDArray[np.float32]:
        parts = []
        while self._next < stop:
            count = min(_BLOCK, stop - self._next)
            parts.append(self._compute(np.arange(self._next, self._next + count)))
            self._next += count
        self._trim()
        if not parts:
            return np.zeros(0, np.float32)
        return np.concatenate(parts).astype(np.float32)

    def _compute(self, outputs: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        # y[n] = sum_j x[j] * h[n*down + half - j*up]: newest input j = t // up, then older ones.
        t = outputs * self._down + self._half
        newest = t // self._up
        phase = t - newest * self._up
        taps = np.arange(self._taps_per_phase)
        index = newest[:, None] - taps[None, :] - self._base
        coefficient = self._taps[phase[:, None] + taps[None, :] * self._up]
        if len(self._buffer) == 0:
            return np.zeros(len(outputs))
        valid = (index >= 0) & (index < len(self._buffer))
        values = np.where(valid, self._buffer[np.clip(index, 0, len(self._buffer) - 1)], 0.0)
        result: npt.NDArray[np.float64] = np.sum(values * coefficient, axis=1)
        return result

    def _trim(self) -> None:
        oldest_needed = (self._next * self._down + self._half) // self._up - self._taps_per_phase
        drop = min(max(0, oldest_needed - self._base), len(self._buffer))
        if drop:
            self._buffer = self._buffer[drop:]
            self._base += drop
