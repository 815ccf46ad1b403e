"""The contract every UserRepository + AttemptLog pair passes: the in-memory fakes and real stores.

Subclass :class:`StoreContract` and provide a ``stores`` fixture yielding a fresh, empty
``(UserRepository, AttemptLog)`` pair over one store. Real stores also pass
:class:`StoredRowsContract`, about rows written by another program. Every ``Watchlist`` passes
:class:`WatchlistContract` (a ``watchlist`` fixture: a fresh, empty one).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from voiceauth_core import (
    Attempt,
    ChallengeResult,
    Decision,
    Embedding,
    Enrollment,
    EnrollmentSample,
    InvalidInputError,
    ModelMismatchError,
    PhoneNumber,
    PhoneNumberInUseError,
    SpoofRisk,
    UserId,
    UserNotFoundError,
    WatchlistEntry,
    WatchlistMatch,
)
from voiceauth_core.ports import AttemptLog, UserRepository, Watchlist
from voiceauth_core.testing import InMemoryVoiceprintIndex
from voiceauth_core.use_cases import sync_index

MODEL = "test/model-a"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def phone_band(seed: int, *, model: str = MODEL) -> Embedding:
    """The phone-band embedding of :func:`sample` ``seed`` (another vector than its embedding)."""
    return Embedding.from_vector(np.random.default_rng(10_000 + seed).normal(size=192), model)


def sample(
    seed: int,
    *,
    model: str = MODEL,
    speech: float = 4.0,
    with_phone_band: bool = False,
    spoof_raw: float | None = None,
) -> EnrollmentSample:
    vector = np.random.default_rng(seed).normal(size=192)
    return EnrollmentSample(
        embedding=Embedding.from_vector(vector, model),
        speech_seconds=speech,
        phone_band=phone_band(seed, model=model) if with_phone_band else None,
        spoof_raw=spoof_raw,
    )


def attempt(
    user: UserId,
    when: datetime,
    *,
    decision: Decision = Decision.ACCEPT,
    spoof: tuple[float, SpoofRisk] | None = None,
) -> Attempt:
    """An attempt of ``user``; ``spoof`` is its ``(spoof_score, spoof_risk)`` when assessed."""
    scored = decision in (Decision.ACCEPT, Decision.REJECT, Decision.STEP_UP)
    return Attempt(
        id=uuid.uuid4(),
        user_id=user,
        decision=decision,
        score=0.9 if scored else None,
        raw_score=0.7 if scored else None,
        speech_seconds=3.5,
        channel="vapi",
        correlation_id="call-1",
        created_at=when,
        error="CaptureError" if decision is Decision.ERROR else None,
        spoof_score=None if spoof is None else spoof[0],
        spoof_risk=None if spoof is None else spoof[1],
    )


Stores = tuple[UserRepository, AttemptLog]


class StoreContract:
    """Behaviour every enrolment store and attempt log must show."""

    async def test_unknown_user_is_none(self, stores: Stores) -> None:
        users, _ = stores
        assert await users.get(UserId.new()) is None
        assert await users.find_by_phone(PhoneNumber.parse("+14155550100")) is None

    async def test_first_sample_starts_an_enrollment(self, stores: Stores) -> None:
        users, _ = stores
        user, phone = UserId.new(), PhoneNumber.parse("+14155550101")
        saved = await users.save_sample(user, phone, sample(1), now=T0, replace=False)
        loaded = await users.get(user)
        assert loaded is not None
        assert saved.sample_count == loaded.sample_count == 1
        assert loaded.phone == phone
        assert loaded.model_id == MODEL
        assert loaded.enrolled_at == loaded.updated_at == T0
        assert loaded.speech_seconds == pytest.approx(4.0)
        assert loaded.centroid.cosine(sample(1).embedding) == pytest.approx(1.0)

    async def test_later_samples_add_to_the_enrollment(self, stores: Stores) -> None:
        users, _ = stores
        user = UserId.new()
        for seed in range(3):
            await users.save_sample(
                user, None, sample(seed), now=T0 + timedelta(seconds=seed), replace=False
            )
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.sample_count == 3
        assert loaded.speech_seconds == pytest.approx(12.0)
        assert loaded.enrolled_at == T0
        assert loaded.updated_at == T0 + timedelta(seconds=2)
        expected = Embedding.centroid([sample(s).embedding for s in range(3)])
        assert loaded.centroid.cosine(expected) == pytest.approx(1.0, abs=1e-9)

    async def test_replace_starts_afresh_and_keeps_the_phone(self, stores: Stores) -> None:
        users, _ = stores
        user, phone = UserId.new(), PhoneNumber.parse("+14155550102")
        await users.save_sample(user, phone, sample(1), now=T0, replace=False)
        await users.save_sample(user, None, sample(2), now=T0, replace=False)
        replaced = await users.save_sample(
            user, None, sample(3, model="test/model-b"), now=T0 + timedelta(hours=1), replace=True
        )
        loaded = await users.get(user)
        assert loaded is not None
        assert replaced.sample_count == loaded.sample_count == 1
        assert loaded.model_id == "test/model-b"
        assert loaded.phone == phone
        assert loaded.centroid.cosine(sample(3, model="test/model-b").embedding) == pytest.approx(
            1.0
        )

    async def test_phone_band_sum_round_trips_and_adds_up(self, stores: Stores) -> None:
        users, _ = stores
        user, phone = UserId.new(), PhoneNumber.parse("+14155550105")
        first = await users.save_sample(
            user, phone, sample(1, with_phone_band=True), now=T0, replace=False
        )
        loaded = await users.get(user)
        assert loaded is not None
        assert first.phone_band_sum is not None
        assert loaded.phone_band_sum is not None
        np.testing.assert_array_equal(loaded.phone_band_sum, first.phone_band_sum)
        np.testing.assert_allclose(loaded.phone_band_sum, phone_band(1).vector, rtol=0, atol=0)
        # Its own vector: never the wide-band sum written twice.
        assert not np.allclose(loaded.phone_band_sum, loaded.embedding_sum)

        second = await users.save_sample(
            user, None, sample(2, with_phone_band=True), now=T0, replace=False
        )
        assert second.phone_band_sum is not None
        for found in (
            await users.get(user),
            await users.find_by_phone(phone),
            (await users.list(limit=10)).items[0],
        ):
            assert found is not None
            assert found.phone_band_sum is not None
            np.testing.assert_array_equal(found.phone_band_sum, second.phone_band_sum)
            np.testing.assert_allclose(
                found.phone_band_sum, phone_band(1).vector + phone_band(2).vector, atol=1e-12
            )
            centroid = found.phone_band_centroid
            assert centroid is not None
            expected = Embedding.centroid([phone_band(1), phone_band(2)])
            assert centroid.cosine(expected) == pytest.approx(1.0, abs=1e-12)

        # A sample without one leaves the enrolment without one; the rest is kept.
        third = await users.save_sample(user, None, sample(3), now=T0, replace=False)
        assert third.phone_band_sum is None
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.sample_count == 3
        assert loaded.phone_band_sum is None
        assert loaded.phone_band_centroid is None

        # Replacing the enrolment starts its twin afresh.
        await users.save_sample(user, None, sample(4, with_phone_band=True), now=T0, replace=True)
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.phone_band_sum is not None
        np.testing.assert_allclose(loaded.phone_band_sum, phone_band(4).vector, rtol=0, atol=0)

    async def test_enrollment_without_phone_band_has_none(self, stores: Stores) -> None:
        users, _ = stores
        user = UserId.new()
        saved = await users.save_sample(user, None, sample(1), now=T0, replace=False)
        assert saved.phone_band_sum is None
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.phone_band_sum is None
        # A later sample that brings one does not make a twin of part of the samples.
        await users.save_sample(user, None, sample(2, with_phone_band=True), now=T0, replace=False)
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.sample_count == 2
        assert loaded.phone_band_sum is None

    async def test_spoof_raw_sum_round_trips_and_adds_up(self, stores: Stores) -> None:
        users, _ = stores
        user, phone = UserId.new(), PhoneNumber.parse("+14155550108")
        # Values exact in binary: the sums are compared exactly, as stored doubles.
        first = await users.save_sample(
            user, phone, sample(1, spoof_raw=-1.25), now=T0, replace=False
        )
        assert first.spoof_raw_sum == -1.25
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.spoof_raw_sum == -1.25
        assert loaded.spoof_baseline == -1.25

        for seed, raw in ((2, 3.5), (3, 0.25)):
            await users.save_sample(user, None, sample(seed, spoof_raw=raw), now=T0, replace=False)
        for found in (
            await users.get(user),
            await users.find_by_phone(phone),
            (await users.list(limit=10)).items[0],
        ):
            assert found is not None
            assert found.sample_count == 3
            assert found.spoof_raw_sum == 2.5
            assert found.spoof_baseline == pytest.approx(2.5 / 3)

        # A sample without a score leaves the enrolment without a baseline, and a later one
        # with a score does not make a baseline of part of the samples.
        without = await users.save_sample(user, None, sample(4), now=T0, replace=False)
        assert without.spoof_raw_sum is None
        await users.save_sample(user, None, sample(5, spoof_raw=1.0), now=T0, replace=False)
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.sample_count == 5
        assert loaded.spoof_raw_sum is None
        assert loaded.spoof_baseline is None

        # Replacing the enrolment starts the sum afresh.
        await users.save_sample(user, None, sample(6, spoof_raw=0.5), now=T0, replace=True)
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.sample_count == 1
        assert loaded.spoof_raw_sum == 0.5

    async def test_enrollment_without_spoof_scores_has_no_baseline(self, stores: Stores) -> None:
        users, _ = stores
        user = UserId.new()
        saved = await users.save_sample(user, None, sample(1), now=T0, replace=False)
        assert saved.spoof_raw_sum is None
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.spoof_raw_sum is None
        assert loaded.spoof_baseline is None

    async def test_other_model_is_refused_without_replace(self, stores: Stores) -> None:
        users, _ = stores
        user = UserId.new()
        await users.save_sample(user, None, sample(1), now=T0, replace=False)
        with pytest.raises(ModelMismatchError):
            await users.save_sample(
                user, None, sample(2, model="test/model-b"), now=T0, replace=False
            )
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.sample_count == 1  # nothing written on failure

    async def test_find_by_phone(self, stores: Stores) -> None:
        users, _ = stores
        user, phone = UserId.new(), PhoneNumber.parse("+442071838750")
        await users.save_sample(user, phone, sample(1), now=T0, replace=False)
        found = await users.find_by_phone(phone)
        assert found is not None
        assert found.user_id == user

    async def test_phone_of_another_user_is_refused(self, stores: Stores) -> None:
        users, _ = stores
        phone = PhoneNumber.parse("+14155550103")
        first, second = UserId.new(), UserId.new()
        await users.save_sample(first, phone, sample(1), now=T0, replace=False)
        with pytest.raises(PhoneNumberInUseError):
            await users.save_sample(second, phone, sample(2), now=T0, replace=False)
        assert await users.get(second) is None

    async def test_list_pages_in_user_id_order(self, stores: Stores) -> None:
        users, _ = stores
        ids = sorted((UserId.new() for _ in range(5)), key=lambda u: u.value)
        for index, user in enumerate(ids):
            await users.save_sample(user, None, sample(index), now=T0, replace=False)
        first = await users.list(limit=2)
        assert [e.user_id for e in first.items] == ids[:2]
        assert first.next_cursor is not None
        second = await users.list(limit=2, cursor=first.next_cursor)
        assert [e.user_id for e in second.items] == ids[2:4]
        assert second.next_cursor is not None
        third = await users.list(limit=2, cursor=second.next_cursor)
        assert [e.user_id for e in third.items] == ids[4:]
        assert third.next_cursor is None

    async def test_every_voiceprint_reaches_the_identification_index_page_by_page(
        self, stores: Stores
    ) -> None:
        users, _ = stores
        ids = [UserId.new() for _ in range(5)]
        for index, user in enumerate(ids):
            await users.save_sample(user, None, sample(index), now=T0, replace=False)
        other_model = sample(9, model="test/model-b")
        await users.save_sample(UserId.new(), None, other_model, now=T0, replace=False)
        held = InMemoryVoiceprintIndex(MODEL)
        stale = Enrollment.start(user_id=UserId.new(), phone=None, sample=sample(8), now=T0)
        await held.put(stale)  # erased from the store while this replica was not listening
        assert await sync_index(users, held, page_size=2) == 5
        assert set(await held.members()) == {u.value for u in ids}
        for index, user in enumerate(ids):
            (hit,) = await held.search(sample(index).embedding, limit=1)
            assert hit.user_id == user
            assert hit.cosine == pytest.approx(1.0)
        await users.delete(ids[3])
        assert await sync_index(users, held, page_size=2) == 4
        assert ids[3].value not in await held.members()

    async def test_bad_cursor_is_invalid_input(self, stores: Stores) -> None:
        users, attempts = stores
        with pytest.raises(InvalidInputError):
            await users.list(limit=2, cursor="not a cursor!")
        with pytest.raises(InvalidInputError):
            await attempts.history(UserId.new(), limit=2, cursor="%%%")

    async def test_attempt_of_unknown_user_is_refused(self, stores: Stores) -> None:
        _, attempts = stores
        with pytest.raises(UserNotFoundError):
            await attempts.append(attempt(UserId.new(), T0))

    async def test_history_is_newest_first_and_pages(self, stores: Stores) -> None:
        users, attempts = stores
        user, other = UserId.new(), UserId.new()
        await users.save_sample(user, None, sample(1), now=T0, replace=False)
        await users.save_sample(other, None, sample(2), now=T0, replace=False)
        made = [attempt(user, T0 + timedelta(minutes=m)) for m in range(5)]
        for item in made:
            await attempts.append(item)
        await attempts.append(attempt(other, T0 + timedelta(minutes=10)))
        page = await attempts.history(user, limit=3)
        assert [a.id for a in page.items] == [a.id for a in reversed(made)][:3]
        assert page.next_cursor is not None
        rest = await attempts.history(user, limit=3, cursor=page.next_cursor)
        assert [a.id for a in rest.items] == [made[1].id, made[0].id]
        assert rest.next_cursor is None

    async def test_attempt_round_trips(self, stores: Stores) -> None:
        users, attempts = stores
        user = UserId.new()
        await users.save_sample(user, None, sample(1), now=T0, replace=False)
        for decision in Decision:
            await attempts.append(attempt(user, T0, decision=decision))
        page = await attempts.history(user, limit=10)
        assert {a.decision for a in page.items} == set(Decision)
        for item in page.items:
            assert item.success is (item.decision is Decision.ACCEPT)
            assert item.created_at == T0
            assert item.channel == "vapi"
            assert item.correlation_id == "call-1"
            if item.decision is Decision.ERROR:
                assert item.error == "CaptureError"
                assert item.score is None
            if item.decision in (Decision.ACCEPT, Decision.STEP_UP):
                assert item.score == pytest.approx(0.9)
                assert item.raw_score == pytest.approx(0.7)
            assert item.spoof_score is None
            assert item.spoof_risk is None

    async def test_spoof_assessment_and_step_up_round_trip(self, stores: Stores) -> None:
        users, attempts = stores
        user = UserId.new()
        await users.save_sample(user, None, sample(1), now=T0, replace=False)
        made = [
            attempt(user, T0, decision=Decision.ACCEPT, spoof=(0.0, SpoofRisk.LOW)),
            attempt(
                user,
                T0 + timedelta(minutes=1),
                decision=Decision.ACCEPT,
                spoof=(0.375, SpoofRisk.ELEVATED),
            ),
            attempt(
                user,
                T0 + timedelta(minutes=2),
                decision=Decision.STEP_UP,
                spoof=(1.0, SpoofRisk.HIGH),
            ),
            attempt(
                user,
                T0 + timedelta(minutes=3),
                decision=Decision.STEP_UP,
                spoof=(0.96875, SpoofRisk.HIGH),
            ),
            attempt(user, T0 + timedelta(minutes=4), decision=Decision.REJECT),  # not assessed
        ]
        for item in made:
            await attempts.append(item)
        newest_first = list(reversed(made))
        history = (await attempts.history(user, limit=10)).items
        recent = (await attempts.recent(limit=10)).items
        for page in (history, recent):
            assert [a.id for a in page] == [a.id for a in newest_first]
            for found, expected in zip(page, newest_first, strict=True):
                assert found.decision is expected.decision
                assert found.spoof_score == expected.spoof_score
                assert found.spoof_risk is expected.spoof_risk
                assert found.success is (expected.decision is Decision.ACCEPT)
        step_up = history[1]
        assert step_up.decision is Decision.STEP_UP
        assert step_up.success is False
        assert step_up.score == pytest.approx(0.9)
        assert step_up.spoof_risk is SpoofRisk.HIGH
        # The cursor of a page that ends on a step-up carries on from there.
        first = await attempts.history(user, limit=2)
        assert first.next_cursor is not None
        rest = await attempts.history(user, limit=10, cursor=first.next_cursor)
        assert [a.id for a in rest.items] == [a.id for a in newest_first[2:]]

    async def test_challenge_results_round_trip(self, stores: Stores) -> None:
        users, attempts = stores
        user = UserId.new()
        await users.save_sample(user, None, sample(1), now=T0, replace=False)
        answers = [
            (ChallengeResult.PASSED, 0.75),
            (ChallengeResult.WRONG_DIGITS, 1.125),
            (ChallengeResult.LATE_ANSWER, 6.5),
            (ChallengeResult.NO_DIGITS, None),
            (None, None),  # an attempt that answered no challenge
        ]
        made = [
            replace(
                attempt(
                    user,
                    T0 + timedelta(minutes=index),
                    decision=Decision.REJECT if index else Decision.ACCEPT,
                ),
                challenge=result,
                challenge_delay_s=delay,
            )
            for index, (result, delay) in enumerate(answers)
        ]
        for item in made:
            await attempts.append(item)
        newest_first = list(reversed(made))
        for page in (
            (await attempts.history(user, limit=10)).items,
            (await attempts.recent(limit=10)).items,
        ):
            assert [(a.challenge, a.challenge_delay_s) for a in page] == [
                (a.challenge, a.challenge_delay_s) for a in newest_first
            ]
        one = await attempts.get(made[2].id, now=T0)
        assert one is not None
        assert one.challenge is ChallengeResult.LATE_ANSWER
        assert one.challenge_delay_s == 6.5

    async def test_recent_spans_users_and_filters_by_time(self, stores: Stores) -> None:
        users, attempts = stores
        first, second = UserId.new(), UserId.new()
        for index, user in enumerate((first, second)):
            await users.save_sample(user, None, sample(index), now=T0, replace=False)
        await attempts.append(attempt(first, T0))
        await attempts.append(attempt(second, T0 + timedelta(hours=1)))
        await attempts.append(attempt(first, T0 + timedelta(hours=2)))
        everything = await attempts.recent(limit=10)
        assert len(everything.items) == 3
        assert everything.items[0].created_at == T0 + timedelta(hours=2)
        later = await attempts.recent(limit=10, since=T0 + timedelta(minutes=30))
        assert len(later.items) == 2

    async def test_delete_erases_enrollment_and_attempts(self, stores: Stores) -> None:
        users, attempts = stores
        user, kept = UserId.new(), UserId.new()
        await users.save_sample(
            user, PhoneNumber.parse("+14155550104"), sample(1), now=T0, replace=False
        )
        await users.save_sample(kept, None, sample(2), now=T0, replace=False)
        await attempts.append(attempt(user, T0))
        await attempts.append(attempt(kept, T0))
        assert await users.delete(user) is True
        assert await users.get(user) is None
        assert await users.find_by_phone(PhoneNumber.parse("+14155550104")) is None
        assert not (await attempts.history(user, limit=10)).items
        assert len((await attempts.recent(limit=10)).items) == 1
        assert await users.delete(user) is False

    async def test_concurrent_samples_are_never_lost(self, stores: Stores) -> None:
        users, _ = stores
        user = UserId.new()
        await asyncio.gather(
            *(users.save_sample(user, None, sample(s), now=T0, replace=False) for s in range(50))
        )
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.sample_count == 50
        assert loaded.speech_seconds == pytest.approx(200.0)
        expected = Embedding.centroid([sample(s).embedding for s in range(50)])
        assert loaded.centroid.cosine(expected) == pytest.approx(1.0, abs=1e-9)

    async def test_watchlist_match_and_probe_round_trip(self, stores: Stores) -> None:
        users, attempts = stores
        user = UserId.new()
        await users.save_sample(user, None, sample(1), now=T0, replace=False)
        match = WatchlistMatch(entry_id=uuid.uuid4(), label="caller posing as executor", score=0.97)
        probe = sample(7).embedding
        kept = replace(
            attempt(user, T0, decision=Decision.REJECT),
            watchlist=match,
            probe=probe,
            probe_expires_at=T0 + timedelta(days=30),
        )
        plain = attempt(user, T0 + timedelta(seconds=1))
        await attempts.append(kept)
        await attempts.append(plain)
        listed = {a.id: a for a in (await attempts.history(user, limit=10)).items}
        assert listed[kept.id].watchlist == match
        assert listed[plain.id].watchlist is None
        assert listed[kept.id].probe is None  # listings never carry the voice
        loaded = await attempts.get(kept.id, now=T0 + timedelta(days=1))
        assert loaded is not None
        assert loaded.watchlist == match
        assert loaded.probe is not None
        assert loaded.probe.model_id == MODEL
        assert loaded.probe.cosine(probe) == pytest.approx(1.0, abs=1e-12)
        assert loaded.probe_expires_at == T0 + timedelta(days=30)
        without = await attempts.get(plain.id, now=T0)
        assert without is not None
        assert without.probe is None
        assert without.probe_expires_at is None
        assert await attempts.get(uuid.uuid4(), now=T0) is None

    async def test_a_probe_is_not_read_after_its_expiry_and_the_next_write_erases_it(
        self, stores: Stores
    ) -> None:
        users, attempts = stores
        user = UserId.new()
        await users.save_sample(user, None, sample(1), now=T0, replace=False)
        expiry = T0 + timedelta(days=1)
        kept = replace(attempt(user, T0), probe=sample(7).embedding, probe_expires_at=expiry)
        await attempts.append(kept)
        before = await attempts.get(kept.id, now=expiry - timedelta(seconds=1))
        assert before is not None
        assert before.probe is not None
        after = await attempts.get(kept.id, now=expiry)
        assert after is not None
        assert after.probe is None
        assert after.probe_expires_at is None
        # A later write erases it for good: read "before" its expiry again, it is gone.
        await attempts.append(attempt(user, expiry + timedelta(seconds=1)))
        erased = await attempts.get(kept.id, now=T0)
        assert erased is not None
        assert erased.probe is None
        assert erased.decision is Decision.ACCEPT  # the rest of the attempt stays

    async def test_deleting_a_user_erases_their_probes(self, stores: Stores) -> None:
        users, attempts = stores
        user = UserId.new()
        await users.save_sample(user, None, sample(1), now=T0, replace=False)
        kept = replace(
            attempt(user, T0), probe=sample(7).embedding, probe_expires_at=T0 + timedelta(days=9)
        )
        await attempts.append(kept)
        assert await users.delete(user) is True
        assert await attempts.get(kept.id, now=T0) is None


def entry(seed: int, when: datetime, *, label: str = "repeat caller") -> WatchlistEntry:
    """A watchlist entry whose voice is :func:`sample` ``seed``'s."""
    return WatchlistEntry(
        id=uuid.uuid4(),
        label=label,
        note=f"note {seed}",
        embedding=sample(seed).embedding,
        created_at=when,
        source="upload",
    )


class WatchlistContract:
    """Behaviour every fraud watchlist store must show."""

    async def test_an_entry_round_trips(self, watchlist: Watchlist) -> None:
        added = entry(3, T0, label="caller posing as executor")
        await watchlist.add(added)
        loaded = await watchlist.get(added.id)
        assert loaded is not None
        assert (loaded.id, loaded.label, loaded.note, loaded.source) == (
            added.id,
            "caller posing as executor",
            "note 3",
            "upload",
        )
        assert loaded.created_at == T0
        assert loaded.embedding.model_id == MODEL
        assert loaded.embedding.cosine(added.embedding) == pytest.approx(1.0, abs=1e-12)
        assert await watchlist.get(uuid.uuid4()) is None

    async def test_list_is_newest_first_and_pages(self, watchlist: Watchlist) -> None:
        added = [entry(seed, T0 + timedelta(minutes=seed)) for seed in range(5)]
        for item in added:
            await watchlist.add(item)
        first = await watchlist.list(limit=3)
        assert [e.id for e in first.items] == [e.id for e in reversed(added)][:3]
        assert first.next_cursor is not None
        rest = await watchlist.list(limit=3, cursor=first.next_cursor)
        assert [e.id for e in rest.items] == [added[1].id, added[0].id]
        assert rest.next_cursor is None
        with pytest.raises(InvalidInputError):
            await watchlist.list(limit=3, cursor="not-a-cursor")

    async def test_every_write_moves_the_revision_and_entries_follow(
        self, watchlist: Watchlist
    ) -> None:
        start = await watchlist.revision()
        assert await watchlist.entries() == []
        one, two = entry(1, T0), entry(2, T0 + timedelta(seconds=1))
        await watchlist.add(one)
        after_one = await watchlist.revision()
        await watchlist.add(two)
        after_two = await watchlist.revision()
        assert len({start, after_one, after_two}) == 3
        assert {e.id for e in await watchlist.entries()} == {one.id, two.id}
        assert await watchlist.delete(one.id) is True
        after_delete = await watchlist.revision()
        assert after_delete not in (start, after_one, after_two)
        assert [e.id for e in await watchlist.entries()] == [two.id]
        assert await watchlist.get(one.id) is None
        assert await watchlist.delete(one.id) is False
        assert await watchlist.revision() == after_delete  # nothing changed


#: Writes raw text into a user's ``phone`` column, as another program could have.
SetStoredPhone = Callable[[UserId, str], Awaitable[None]]


class StoredRowsContract:
    """What a real store does with rows it did not write: every dialect reads them alike.

    Subclass it with a ``stores`` fixture and a ``set_stored_phone`` fixture
    (:data:`SetStoredPhone`) over the same fresh, empty store.
    """

    @pytest.mark.parametrize("stored", ["5550100", "+0123456789", "4155550100x12", "unknown"])
    async def test_a_stored_phone_not_in_e164_reads_as_none(
        self, stores: Stores, set_stored_phone: SetStoredPhone, stored: str
    ) -> None:
        """The original service kept numbers as typed: such a row is read without its number
        (it cannot be looked up), never refused, and a sample that brings one replaces it."""
        users, _ = stores
        user = UserId.new()
        await users.save_sample(
            user, PhoneNumber.parse("+14155550106"), sample(1), now=T0, replace=False
        )
        await set_stored_phone(user, stored)

        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.phone is None
        assert loaded.sample_count == 1
        assert loaded.centroid.cosine(sample(1).embedding) == pytest.approx(1.0)
        assert [e.phone for e in (await users.list(limit=10)).items] == [None]
        assert await users.find_by_phone(PhoneNumber.parse("+14155550106")) is None

        phone = PhoneNumber.parse("+14155550107")
        grown = await users.save_sample(user, phone, sample(2), now=T0, replace=False)
        assert grown.sample_count == 2
        assert grown.phone == phone
        found = await users.find_by_phone(phone)
        assert found is not None
        assert found.user_id == user
