"""The voiceprint index as one float32 matrix of unit rows, searched by a matrix-vector product."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment
from voiceauth_core.errors import InvalidInputError, ModelMismatchError
from voiceauth_core.identification import IndexHit, check_index_model
from voiceauth_core.identity import UserId

__all__ = ["MatrixVoiceprintIndex"]

# Below this many rows a search is quicker on the event loop than handed to a thread.
_THREAD_ABOVE = 20_000


class MatrixVoiceprintIndex:
    """Each user's centroid as a row of one float32 matrix; a search is exact (every row scored).

    192 float32 per voiceprint: 0.77 GB for a million. Rows are appended, a removed row is
    filled with the last one, so the used rows stay contiguous; the matrix doubles as it grows.
    A search over more than ``thread_above`` rows runs off the event loop; updates wait for it
    (one lock), so a search never sees a half-moved row.

    Args:
        model_id: The model whose voiceprints it holds.
        dimension: The voiceprints' size (192 for ECAPA-TDNN).
        thread_above: Searches over more rows than this run in a worker thread.
    """

    def __init__(
        self, model_id: str, *, dimension: int = 192, thread_above: int = _THREAD_ABOVE
    ) -> None:
        if dimension < 1:
            raise InvalidInputError("a voiceprint has at least one component")
        self._model_id = model_id
        self._dimension = dimension
        self._thread_above = thread_above
        self._matrix = np.zeros((1024, dimension), dtype=np.float32)
        self._ids: list[uuid.UUID] = []
        self._rows: dict[uuid.UUID, int] = {}
        self._lock = asyncio.Lock()

    @property
    def model_id(self) -> str:
        """The model whose voiceprints it holds."""
        return self._model_id

    async def count(self) -> int:
        """How many voiceprints it holds."""
        return len(self._ids)

    async def members(self) -> list[uuid.UUID]:
        """The ids of the users it holds."""
        return list(self._ids)

    def nbytes(self) -> int:
        """The matrix's memory, spare rows included."""
        return int(self._matrix.nbytes)

    async def search(self, probe: Embedding, *, limit: int) -> list[IndexHit]:
        """The ``limit`` closest voiceprints by cosine, best first, ties by user id."""
        if limit < 1:
            raise InvalidInputError("a search returns at least one voiceprint")
        check_index_model(probe, self._model_id)
        if probe.dimension != self._dimension:
            raise ModelMismatchError(
                f"the index holds {self._dimension}-d voiceprints, not {probe.dimension}-d"
            )
        vector = probe.vector.astype(np.float32)
        async with self._lock:
            if len(self._ids) > self._thread_above:
                return await asyncio.to_thread(self._top, vector, limit)
            return self._top(vector, limit)

    def _top(self, vector: npt.NDArray[np.float32], limit: int) -> list[IndexHit]:
        used = len(self._ids)
        if used == 0:
            return []
        scores = self._matrix[:used] @ vector
        k = min(limit, used)
        chosen = np.argpartition(scores, used - k)[used - k :] if k < used else np.arange(used)
        hits = [
            IndexHit(
                user_id=UserId(value=self._ids[row]),
                cosine=float(np.clip(scores[row], -1.0, 1.0)),
            )
            for row in chosen.tolist()
        ]
        hits.sort(key=lambda hit: (-hit.cosine, hit.user_id.value))
        return hits

    async def put(self, enrollment: Enrollment) -> None:
        """Hold the enrolment's centroid (or drop the user's if it is of another model)."""
        async with self._lock:
            if (
                enrollment.model_id != self._model_id
                or enrollment.embedding_sum.size != self._dimension
            ):
                self._drop(enrollment.user_id.value)
                return
            self._set(enrollment.user_id.value, enrollment.centroid.vector)

    async def remove(self, user_id: UserId) -> None:
        """Forget the user's voiceprint."""
        async with self._lock:
            self._drop(user_id.value)

    async def extend(self, user_ids: Sequence[uuid.UUID], vectors: npt.ArrayLike) -> None:
        """Hold many voiceprints at once (rows of ``vectors``, normalised here), e.g. a bulk load.

        Raises:
            InvalidInputError: The shapes disagree, or a row is zero or not finite.
        """
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape != (len(user_ids), self._dimension):
            raise InvalidInputError("one voiceprint row per user id, of the index's dimension")
        norms = np.linalg.norm(matrix, axis=1)
        if not np.all(np.isfinite(norms)) or np.any(norms < 1e-12):
            raise InvalidInputError("voiceprints must be finite and non-zero")
        async with self._lock:
            for value, row in zip(user_ids, matrix / norms[:, None], strict=True):
                self._set(value, row)

    def _set(self, value: uuid.UUID, vector: npt.NDArray[np.floating]) -> None:
        row = self._rows.get(value)
        if row is None:
            row = len(self._ids)
            if row == self._matrix.shape[0]:
                grown = np.zeros((2 * row, self._dimension), dtype=np.float32)
                grown[:row] = self._matrix
                self._matrix = grown
            self._ids.append(value)
            self._rows[value] = row
        self._matrix[row] = vector

    def _drop(self, value: uuid.UUID) -> None:
        row = self._rows.pop(value, None)
        if row is None:
            return
        last = len(self._ids) - 1
        if row != last:
            moved = self._ids[last]
            self._matrix[row] = self._matrix[last]
            self._ids[row] = moved
            self._rows[moved] = row
        self._ids.pop()
