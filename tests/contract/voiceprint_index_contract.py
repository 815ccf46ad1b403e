"""The contract every VoiceprintIndex passes: the in-memory fake and the numpy matrix.

Subclass :class:`VoiceprintIndexContract` and provide an ``index`` fixture: an empty index of
``MODEL``'s 192-d voiceprints.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from voiceauth_core import (
    Embedding,
    Enrollment,
    EnrollmentSample,
    InvalidInputError,
    ModelMismatchError,
    UserId,
)
from voiceauth_core.ports import VoiceprintIndex

MODEL = "test/model-a"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def vector(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=192)


def enrolment(user: UserId, seed: int, *, model: str = MODEL) -> Enrollment:
    sample = EnrollmentSample(
        embedding=Embedding.from_vector(vector(seed), model), speech_seconds=4
    )
    return Enrollment.start(user_id=user, phone=None, sample=sample, now=T0)


def probe(seed: int, *, model: str = MODEL) -> Embedding:
    return Embedding.from_vector(vector(seed), model)


class VoiceprintIndexContract:
    async def test_an_empty_index_finds_nothing(self, index: VoiceprintIndex) -> None:
        assert index.model_id == MODEL
        assert await index.search(probe(1), limit=5) == []
        assert await index.count() == 0
        assert await index.members() == []

    async def test_the_closest_voiceprints_come_first_with_their_cosines(
        self, index: VoiceprintIndex
    ) -> None:
        users = [UserId.new() for _ in range(6)]
        for seed, user in enumerate(users):
            await index.put(enrolment(user, seed))
        assert await index.count() == 6
        assert set(await index.members()) == {u.value for u in users}
        for seed, user in enumerate(users):
            hits = await index.search(probe(seed), limit=3)
            assert len(hits) == 3
            assert hits[0].user_id == user
            assert hits[0].cosine == pytest.approx(1.0, abs=1e-5)
            assert [h.cosine for h in hits] == sorted((h.cosine for h in hits), reverse=True)
            expected = float(np.dot(probe(seed).vector, probe((seed + 1) % 6).vector))
            others = {h.user_id: h.cosine for h in await index.search(probe(seed), limit=6)}
            assert others[users[(seed + 1) % 6]] == pytest.approx(expected, abs=1e-5)

    async def test_a_limit_above_the_size_returns_everyone(self, index: VoiceprintIndex) -> None:
        for seed in range(3):
            await index.put(enrolment(UserId.new(), seed))
        assert len(await index.search(probe(0), limit=50)) == 3

    async def test_ties_are_broken_by_user_id(self, index: VoiceprintIndex) -> None:
        users = sorted((UserId.new() for _ in range(4)), key=lambda u: u.value)
        for user in reversed(users):
            await index.put(enrolment(user, 7))
        hits = await index.search(probe(7), limit=4)
        assert [h.user_id for h in hits] == users

    async def test_a_new_enrolment_replaces_the_users_voiceprint(
        self, index: VoiceprintIndex
    ) -> None:
        user = UserId.new()
        await index.put(enrolment(user, 1))
        await index.put(enrolment(user, 2))
        assert await index.count() == 1
        (hit,) = await index.search(probe(2), limit=1)
        assert hit.user_id == user
        assert hit.cosine == pytest.approx(1.0, abs=1e-5)

    async def test_an_enrolment_of_another_model_is_left_out_and_drops_the_old_one(
        self, index: VoiceprintIndex
    ) -> None:
        user, other = UserId.new(), UserId.new()
        await index.put(enrolment(other, 3, model="test/model-b"))
        await index.put(enrolment(user, 1))
        await index.put(enrolment(user, 1, model="test/model-b"))
        assert await index.count() == 0

    async def test_removed_users_are_no_longer_found_and_the_rest_still_are(
        self, index: VoiceprintIndex
    ) -> None:
        users = [UserId.new() for _ in range(5)]
        for seed, user in enumerate(users):
            await index.put(enrolment(user, seed))
        await index.remove(users[1])
        await index.remove(users[1])  # twice: nothing to forget
        await index.remove(UserId.new())
        assert await index.count() == 4
        for seed, user in enumerate(users):
            found = [h.user_id for h in await index.search(probe(seed), limit=5)]
            assert (user in found) is (seed != 1)
            if seed != 1:
                assert found[0] == user

    async def test_a_probe_of_another_model_or_a_bad_limit_is_refused(
        self, index: VoiceprintIndex
    ) -> None:
        await index.put(enrolment(UserId.new(), 1))
        with pytest.raises(ModelMismatchError):
            await index.search(probe(1, model="test/model-b"), limit=1)
        with pytest.raises(InvalidInputError):
            await index.search(probe(1), limit=0)
