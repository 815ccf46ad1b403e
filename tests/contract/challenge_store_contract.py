"""The contract every ChallengeStore passes: the in-memory store and both SQL stores.

Subclass :class:`ChallengeStoreContract` and provide a ``challenge_stores`` fixture yielding a
fresh ``(UserRepository, ChallengeStore)`` pair over one store (the user must be enrolled for a
challenge to be issued, and erasing the user erases the challenges).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from tests.contract.store_contract import T0, sample
from voiceauth_core import ChallengeError, UserId, UserNotFoundError
from voiceauth_core.challenge import Challenge, ChallengeRule
from voiceauth_core.ports import ChallengeStore, UserRepository

ChallengeStores = tuple[UserRepository, ChallengeStore]
RULE = ChallengeRule(ttl_s=60.0)


async def _enrolled(users: UserRepository) -> UserId:
    user = UserId.new()
    await users.save_sample(user, None, sample(1), now=T0, replace=False)
    return user


def _challenge(user: UserId, *, call_id: str | None = None) -> Challenge:
    return RULE.issue(user, call_id=call_id, now=T0)


class ChallengeStoreContract:
    """Behaviour every challenge store must show."""

    async def test_an_issued_challenge_is_redeemed_once(
        self, challenge_stores: ChallengeStores
    ) -> None:
        users, challenges = challenge_stores
        user = await _enrolled(users)
        issued = _challenge(user)
        await challenges.issue(issued)
        now = T0 + timedelta(seconds=10)
        redeemed = await challenges.redeem(issued.id, user_id=user, call_id=None, now=now)
        assert redeemed.digits == issued.digits
        assert redeemed.id == issued.id
        assert redeemed.user_id == user
        assert redeemed.issued_at == issued.issued_at
        assert redeemed.expires_at == issued.expires_at
        assert redeemed.used_at == now
        with pytest.raises(ChallengeError) as used:
            await challenges.redeem(issued.id, user_id=user, call_id=None, now=now)
        assert used.value.reason == "used"

    async def test_an_expired_challenge_is_refused(self, challenge_stores: ChallengeStores) -> None:
        users, challenges = challenge_stores
        user = await _enrolled(users)
        issued = _challenge(user)
        await challenges.issue(issued)
        with pytest.raises(ChallengeError) as expired:
            await challenges.redeem(issued.id, user_id=user, call_id=None, now=issued.expires_at)
        assert expired.value.reason == "expired"

    async def test_another_users_challenge_is_unknown(
        self, challenge_stores: ChallengeStores
    ) -> None:
        users, challenges = challenge_stores
        owner, other = await _enrolled(users), await _enrolled(users)
        issued = _challenge(owner)
        await challenges.issue(issued)
        with pytest.raises(ChallengeError) as foreign:
            await challenges.redeem(issued.id, user_id=other, call_id=None, now=T0)
        assert foreign.value.reason == "unknown"
        # Refusing it did not use it up.
        redeemed = await challenges.redeem(issued.id, user_id=owner, call_id=None, now=T0)
        assert redeemed.used_at == T0

    async def test_an_unknown_id_is_unknown(self, challenge_stores: ChallengeStores) -> None:
        users, challenges = challenge_stores
        user = await _enrolled(users)
        with pytest.raises(ChallengeError) as unknown:
            await challenges.redeem(uuid.uuid4(), user_id=user, call_id=None, now=T0)
        assert unknown.value.reason == "unknown"

    async def test_a_calls_challenge_is_answered_on_that_call_only(
        self, challenge_stores: ChallengeStores
    ) -> None:
        users, challenges = challenge_stores
        user = await _enrolled(users)
        issued = _challenge(user, call_id="call-1")
        await challenges.issue(issued)
        for wrong in ("call-2", None):
            with pytest.raises(ChallengeError) as other_call:
                await challenges.redeem(issued.id, user_id=user, call_id=wrong, now=T0)
            assert other_call.value.reason == "unknown"
        redeemed = await challenges.redeem(issued.id, user_id=user, call_id="call-1", now=T0)
        assert redeemed.call_id == "call-1"

    async def test_a_challenge_without_a_call_is_answered_on_any(
        self, challenge_stores: ChallengeStores
    ) -> None:
        users, challenges = challenge_stores
        user = await _enrolled(users)
        issued = _challenge(user)
        await challenges.issue(issued)
        redeemed = await challenges.redeem(issued.id, user_id=user, call_id="call-9", now=T0)
        assert redeemed.call_id is None

    async def test_concurrent_redemptions_have_one_winner(
        self, challenge_stores: ChallengeStores
    ) -> None:
        users, challenges = challenge_stores
        user = await _enrolled(users)
        issued = _challenge(user)
        await challenges.issue(issued)
        outcomes = await asyncio.gather(
            *(challenges.redeem(issued.id, user_id=user, call_id=None, now=T0) for _ in range(5)),
            return_exceptions=True,
        )
        assert sum(isinstance(o, Challenge) for o in outcomes) == 1
        refused = [o for o in outcomes if isinstance(o, ChallengeError)]
        assert len(refused) == 4
        assert {o.reason for o in refused} == {"used"}

    async def test_only_enrolled_users_get_challenges(
        self, challenge_stores: ChallengeStores
    ) -> None:
        _, challenges = challenge_stores
        with pytest.raises(UserNotFoundError):
            await challenges.issue(_challenge(UserId.new()))

    async def test_erasing_the_user_erases_the_challenges(
        self, challenge_stores: ChallengeStores
    ) -> None:
        users, challenges = challenge_stores
        user = await _enrolled(users)
        issued = _challenge(user)
        await challenges.issue(issued)
        assert await users.delete(user)
        with pytest.raises(ChallengeError) as gone:
            await challenges.redeem(issued.id, user_id=user, call_id=None, now=T0)
        assert gone.value.reason == "unknown"
