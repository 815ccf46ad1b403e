"""The numpy matrix index passes the index contract, grows past its first block, loads in bulk."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from tests.contract.voiceprint_index_contract import (
    MODEL,
    VoiceprintIndexContract,
    enrolment,
    probe,
)
from voiceauth_adapters.index import MatrixVoiceprintIndex
from voiceauth_core import InvalidInputError, UserId

pytestmark = pytest.mark.unit


class TestMatrixVoiceprintIndex(VoiceprintIndexContract):
    @pytest.fixture
    def index(self) -> MatrixVoiceprintIndex:
        return MatrixVoiceprintIndex(MODEL)


class TestMatrixVoiceprintIndexInAThread(VoiceprintIndexContract):
    """Every search handed to a worker thread, as over more than 20,000 voiceprints."""

    @pytest.fixture
    def index(self) -> MatrixVoiceprintIndex:
        return MatrixVoiceprintIndex(MODEL, thread_above=0)


async def test_it_grows_past_its_first_block_and_matches_brute_force() -> None:
    index = MatrixVoiceprintIndex(MODEL)
    rng = np.random.default_rng(5)
    ids = [uuid.uuid4() for _ in range(3000)]
    vectors = rng.normal(size=(3000, 192))
    await index.extend(ids[:1500], vectors[:1500])
    for value, row in zip(ids[1500:2000], vectors[1500:2000], strict=True):
        await index.extend([value], row[None, :])
    await index.extend(ids[2000:], vectors[2000:])
    for value in ids[::7]:
        await index.remove(UserId(value=value))
    kept = [i for i, value in enumerate(ids) if i % 7 != 0]
    assert await index.count() == len(kept)
    assert index.nbytes() >= len(kept) * 192 * 4
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    query = probe(42)
    exact = unit[kept] @ query.vector
    best = [ids[kept[i]] for i in np.argsort(-exact)[:10]]
    hits = await index.search(query, limit=10)
    assert [h.user_id.value for h in hits] == best
    assert [h.cosine for h in hits] == pytest.approx(np.sort(exact)[::-1][:10], abs=1e-5)


async def test_a_bulk_load_refuses_bad_shapes_and_zero_rows() -> None:
    index = MatrixVoiceprintIndex(MODEL)
    with pytest.raises(InvalidInputError):
        await index.extend([uuid.uuid4()], np.ones((2, 192)))
    with pytest.raises(InvalidInputError):
        await index.extend([uuid.uuid4()], np.zeros((1, 192)))
    with pytest.raises(InvalidInputError):
        MatrixVoiceprintIndex(MODEL, dimension=0)
    await index.put(enrolment(UserId.new(), 1))
    assert await index.count() == 1
