"""The asyncpg store passes the store contract on a real PostgreSQL, and survives the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import numpy as np
import pytest

from tests.contract.challenge_store_contract import ChallengeStoreContract, ChallengeStores
from tests.contract.store_contract import (
    T0,
    SetStoredPhone,
    StoreContract,
    StoredRowsContract,
    Stores,
    WatchlistContract,
    attempt,
    sample,
)
from tests.integration import postgres_harness
from voiceauth_adapters.postgres import (
    PostgresAttemptLog,
    PostgresDatabase,
    PostgresUserRepository,
)
from voiceauth_adapters.sealing import new_key, parse_keyring
from voiceauth_adapters.sealing.cipher import TemplateCipher
from voiceauth_core import (
    Decision,
    Embedding,
    PhoneNumber,
    PhoneNumberInUseError,
    SpoofRisk,
    StorageUnavailableError,
    UserId,
)
from voiceauth_core.ports import Watchlist

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with postgres_harness.fresh_database("voiceauth_store", migrated=True) as url:
        yield url


async def _empty(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE users, auth_attempts, watchlist_entries, liveness_challenges")
    finally:
        await conn.close()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[PostgresDatabase]:
    await _empty(database_url)
    async with PostgresDatabase(database_url, min_size=1, max_size=10) as opened:
        yield opened


class TestPostgresStores(StoreContract):
    @pytest.fixture
    def stores(self, database: PostgresDatabase) -> Stores:
        return PostgresUserRepository(database), PostgresAttemptLog(database)


class TestPostgresStoresSealed(StoreContract):
    """With a template key: every voiceprint sealed (raw rows: test_template_protection.py)."""

    @pytest.fixture
    def stores(self, database: PostgresDatabase) -> Stores:
        cipher = TemplateCipher(parse_keyring(new_key()))
        return (
            PostgresUserRepository(database, cipher=cipher),
            PostgresAttemptLog(database, cipher=cipher),
        )


class TestPostgresChallengeStore(ChallengeStoreContract):
    @pytest.fixture
    def challenge_stores(self, database: PostgresDatabase) -> ChallengeStores:
        return database.stores()[0], database.challenges()


class TestPostgresWatchlist(WatchlistContract):
    @pytest.fixture
    def watchlist(self, database: PostgresDatabase) -> Watchlist:
        return database.watchlist()


class TestPostgresWatchlistSealed(WatchlistContract):
    @pytest.fixture
    def watchlist(self, database: PostgresDatabase) -> Watchlist:
        return database.watchlist(TemplateCipher(parse_keyring(new_key())))


class TestPostgresStoresWithoutStatementCache(StoreContract):
    """As behind Supabase's transaction pooler: no prepared statement outlives a transaction."""

    @pytest.fixture
    async def stores(self, database_url: str) -> AsyncIterator[Stores]:
        await _empty(database_url)
        async with PostgresDatabase(database_url, statement_cache=False) as opened:
            assert opened.statement_cache_size == 0
            yield PostgresUserRepository(opened), PostgresAttemptLog(opened)


class TestPostgresStoredRows(StoredRowsContract):
    @pytest.fixture
    def stores(self, database: PostgresDatabase) -> Stores:
        return database.stores()

    @pytest.fixture
    def set_stored_phone(self, database_url: str) -> SetStoredPhone:
        async def write(user: UserId, phone: str) -> None:
            conn = await asyncpg.connect(database_url)
            try:
                await conn.execute("UPDATE users SET phone = $2 WHERE id = $1", user.value, phone)
            finally:
                await conn.close()

        return write


async def _fetchval(database: PostgresDatabase, query: str, *args: Any) -> Any:
    async def run(conn: Any) -> Any:
        return await conn.fetchval(query, *args)

    return await database.read(run)


async def test_centroid_is_stored_in_the_original_embedding_column(
    database: PostgresDatabase,
) -> None:
    user = UserId.new()
    users = PostgresUserRepository(database)
    for seed in (1, 2):
        await users.save_sample(user, None, sample(seed), now=T0, replace=False)
    stored = await _fetchval(database, "SELECT embedding FROM users WHERE id = $1", user.value)
    expected = Embedding.centroid([sample(1).embedding, sample(2).embedding])
    np.testing.assert_allclose(np.array(stored), expected.vector)


async def test_spoof_scores_are_plain_numbers_even_with_a_key(database: PostgresDatabase) -> None:
    """A spoof score is a scalar, not a voiceprint: a FLOAT8 in the clear, key or not."""
    cipher = TemplateCipher(parse_keyring(new_key()))
    users, attempts = PostgresUserRepository(database, cipher=cipher), PostgresAttemptLog(database)
    user = UserId.new()
    for seed, raw in ((1, 0.75), (2, -2.0)):
        await users.save_sample(user, None, sample(seed, spoof_raw=raw), now=T0, replace=False)
    stored = await _fetchval(database, "SELECT spoof_raw_sum FROM users WHERE id = $1", user.value)
    assert stored == -1.25
    step_up = attempt(user, T0, decision=Decision.STEP_UP, spoof=(0.875, SpoofRisk.HIGH))
    await attempts.append(step_up)

    async def run(conn: Any) -> Any:
        return await conn.fetchrow(
            "SELECT decision, success, spoof_score, spoof_risk FROM auth_attempts WHERE id = $1",
            step_up.id,
        )

    assert tuple(await database.read(run)) == ("step_up", False, 0.875, "high")


async def test_failed_first_sample_leaves_no_row(database: PostgresDatabase) -> None:
    users = PostgresUserRepository(database)
    phone_owner, other = UserId.new(), UserId.new()
    phone = PhoneNumber.parse("+14155550199")
    await users.save_sample(phone_owner, phone, sample(1), now=T0, replace=False)
    with pytest.raises(PhoneNumberInUseError):
        await users.save_sample(other, phone, sample(2), now=T0, replace=False)
    count = await _fetchval(database, "SELECT count(*) FROM users WHERE id = $1", other.value)
    assert count == 0  # the placeholder row was rolled back with the rest


async def test_closed_pool_is_storage_unavailable(database_url: str) -> None:
    database = PostgresDatabase(database_url)
    with pytest.raises(StorageUnavailableError):
        await PostgresUserRepository(database).get(UserId.new())


async def test_unreachable_server_is_storage_unavailable() -> None:
    database = PostgresDatabase(
        "postgresql://postgres@127.0.0.1:1/none", connect_timeout=2.0, min_size=1
    )
    with pytest.raises(StorageUnavailableError) as caught:
        await database.open()
    assert "127.0.0.1:1/none" in caught.value.message


@pytest.fixture
def outage_url() -> Iterator[str]:
    with postgres_harness.fresh_database("voiceauth_outage", migrated=True) as url:
        yield url


async def _admin(query: str) -> None:
    conn = await asyncpg.connect(postgres_harness.require_server().admin_dsn)
    try:
        await conn.execute(query)
    finally:
        await conn.close()


async def test_pool_recovers_once_the_database_is_back(outage_url: str) -> None:
    """Connections killed and the database refusing new ones, then back: service resumes."""
    name = outage_url.rsplit("/", 1)[1]
    async with PostgresDatabase(outage_url, min_size=3, max_size=3) as database:
        users, attempts = PostgresUserRepository(database), PostgresAttemptLog(database)
        user = UserId.new()
        await users.save_sample(user, None, sample(1), now=T0, replace=False)

        await _admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await _admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        with pytest.raises(StorageUnavailableError):
            await users.get(user)
        with pytest.raises(StorageUnavailableError):
            await users.save_sample(user, None, sample(2), now=T0, replace=False)
        with pytest.raises(StorageUnavailableError):
            await attempts.append(attempt(user, T0))

        await _admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        loaded = await users.get(user)
        assert loaded is not None
        assert loaded.sample_count == 1  # the failed sample was not half-written
        saved = await users.save_sample(user, None, sample(2), now=T0, replace=False)
        assert saved.sample_count == 2
        await attempts.append(attempt(user, T0))


async def test_killed_idle_connections_are_replaced(outage_url: str) -> None:
    """Connections the server killed while idle are replaced; a read that meets one first is
    retried once on a fresh connection."""
    name = outage_url.rsplit("/", 1)[1]
    async with PostgresDatabase(outage_url, min_size=2, max_size=2) as database:
        users = PostgresUserRepository(database)
        user = UserId.new()
        await users.save_sample(user, None, sample(1), now=T0, replace=False)
        await _admin(
            f"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        results = await asyncio.gather(*(users.get(user) for _ in range(4)))
        assert all(r is not None and r.sample_count == 1 for r in results)
