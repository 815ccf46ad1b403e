"""Speaker embeddings: unit vectors tagged with the model that made them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceauth_core.errors import InvalidInputError, ModelMismatchError

__all__ = ["Embedding", "Vector", "check_same_model", "l2_normalise"]

Vector = npt.NDArray[np.float64]

# Below this norm a vector has no direction worth trusting.
_MIN_NORM = 1e-12


def l2_normalise(vector: npt.ArrayLike) -> Vector:
    """The vector scaled to unit length.

    Raises:
        InvalidInputError: The vector is empty, not one-dimensional, not finite or zero.
    """
    array = np.asarray(vector, dtype=np.float64)
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
        raise InvalidInputError("an embedding must be a non-empty finite vector")
    norm = float(np.linalg.norm(array))
    if norm < _MIN_NORM:
        raise InvalidInputError("an embedding must not be the zero vector")
    return array / norm


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Embedding:
    """An L2-normalised speaker embedding and the id of the model that made it.

    Build one with :meth:`from_vector`, which normalises; the constructor checks the norm.

    Args:
        vector: A unit-length one-dimensional vector (read-only once made).
        model_id: Identifies the model and its weights (``speechbrain/spkrec-ecapa-voxceleb@...``).
    """

    vector: Vector
    model_id: str

    def __post_init__(self) -> None:
        array = np.array(self.vector, dtype=np.float64)
        if array.ndim != 1 or array.size == 0 or abs(float(np.linalg.norm(array)) - 1.0) > 1e-6:
            raise InvalidInputError("an embedding vector must be one-dimensional and unit length")
        if not self.model_id:
            raise InvalidInputError("an embedding must name the model that made it")
        array.setflags(write=False)
        object.__setattr__(self, "vector", array)

    @classmethod
    def from_vector(cls, vector: npt.ArrayLike, model_id: str) -> Embedding:
        """Normalise a raw model output into an embedding."""
        return cls(vector=l2_normalise(vector), model_id=model_id)

    @property
    def dimension(self) -> int:
        """The number of components (192 for ECAPA-TDNN)."""
        return int(self.vector.size)

    def check_compatible(self, other: Embedding) -> None:
        """Refuse to combine embeddings of different models or dimensions.

        Raises:
            ModelMismatchError: The model ids or dimensions differ.
        """
        check_same_model(other, model_id=self.model_id, dimension=self.dimension)

    def cosine(self, other: Embedding) -> float:
        """Cosine similarity in [-1, 1]; symmetric.

        Raises:
            ModelMismatchError: The embeddings come from different models.
        """
        self.check_compatible(other)
        return float(np.clip(np.dot(self.vector, other.vector), -1.0, 1.0))

    @staticmethod
    def centroid(embeddings: Sequence[Embedding]) -> Embedding:
        """The normalised mean direction of several embeddings of one model.

        Raises:
            InvalidInputError: No embeddings were given, or they cancel out.
            ModelMismatchError: They come from different models.
        """
        if not embeddings:
            raise InvalidInputError("a centroid needs at least one embedding")
        first = embeddings[0]
        for other in embeddings[1:]:
            first.check_compatible(other)
        total = np.sum([e.vector for e in embeddings], axis=0)
        return Embedding.from_vector(total, first.model_id)


def check_same_model(embedding: Embedding, *, model_id: str, dimension: int) -> None:
    """Refuse ``embedding`` unless it comes from ``model_id`` with ``dimension`` components.

    Raises:
        ModelMismatchError: The model ids or dimensions differ.
    """
    if embedding.model_id != model_id or embedding.dimension != dimension:
        raise ModelMismatchError(
            f"embeddings of model {embedding.model_id!r} cannot be compared with or merged into "
            f"embeddings of model {model_id!r}; re-enrol with the current model"
        )
