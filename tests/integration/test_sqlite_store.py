"""The embedded SQLite store passes the store contract, in WAL mode, without blocking the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import threading
from collections.abc import AsyncIterator
from pathlib import Path

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
from voiceauth_adapters.sealing import new_key, parse_keyring
from voiceauth_adapters.sealing.cipher import TemplateCipher
from voiceauth_adapters.sqlite import SqliteAttemptLog, SqliteDatabase, SqliteUserRepository
from voiceauth_core import Decision, Embedding, SpoofRisk, StorageUnavailableError, UserId
from voiceauth_core.ports import Watchlist
from voiceauth_web import wiring
from voiceauth_web.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    async with SqliteDatabase(tmp_path / "data" / "voiceauth.db") as opened:
        await opened.migrate()
        yield opened


class TestSqliteStores(StoreContract):
    @pytest.fixture
    def stores(self, database: SqliteDatabase) -> Stores:
        return SqliteUserRepository(database), SqliteAttemptLog(database)


class TestSqliteStoresSealed(StoreContract):
    """With a template key: every voiceprint sealed (raw rows: test_template_protection.py)."""

    @pytest.fixture
    def stores(self, database: SqliteDatabase) -> Stores:
        cipher = TemplateCipher(parse_keyring(new_key()))
        return (
            SqliteUserRepository(database, cipher=cipher),
            SqliteAttemptLog(database, cipher=cipher),
        )


class TestSqliteChallengeStore(ChallengeStoreContract):
    @pytest.fixture
    def challenge_stores(self, database: SqliteDatabase) -> ChallengeStores:
        return database.stores()[0], database.challenges()


class TestSqliteWatchlist(WatchlistContract):
    @pytest.fixture
    def watchlist(self, database: SqliteDatabase) -> Watchlist:
        return database.watchlist()


class TestSqliteWatchlistSealed(WatchlistContract):
    @pytest.fixture
    def watchlist(self, database: SqliteDatabase) -> Watchlist:
        return database.watchlist(TemplateCipher(parse_keyring(new_key())))


class TestSqliteStoredRows(StoredRowsContract):
    @pytest.fixture
    def stores(self, database: SqliteDatabase) -> Stores:
        return database.stores()

    @pytest.fixture
    def set_stored_phone(self, database: SqliteDatabase) -> SetStoredPhone:
        async def write(user: UserId, phone: str) -> None:
            with sqlite3.connect(database.path) as conn:
                conn.execute("UPDATE users SET phone = ? WHERE id = ?", (phone, str(user)))
            conn.close()

        return write


async def test_wal_mode_and_foreign_keys_are_on(database: SqliteDatabase) -> None:
    assert await database.read(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0]) == "wal"
    assert await database.read(lambda c: c.execute("PRAGMA foreign_keys").fetchone()[0]) == 1


async def test_file_and_folder_are_private(database: SqliteDatabase) -> None:
    assert stat.S_IMODE(database.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.path.parent.stat().st_mode) == 0o700


async def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "voiceauth.db"
    user = UserId.new()
    async with SqliteDatabase(path) as first:
        await first.migrate()
        await SqliteUserRepository(first).save_sample(user, None, sample(1), now=T0, replace=False)
        await SqliteAttemptLog(first).append(attempt(user, T0))
    async with SqliteDatabase(path) as second:
        loaded = await SqliteUserRepository(second).get(user)
        assert loaded is not None
        assert loaded.centroid.cosine(sample(1).embedding) == pytest.approx(1.0)
        assert len((await SqliteAttemptLog(second).history(user, limit=5)).items) == 1


async def test_centroid_is_stored_in_the_embedding_column(database: SqliteDatabase) -> None:
    user = UserId.new()
    users = SqliteUserRepository(database)
    for seed in (1, 2):
        await users.save_sample(user, None, sample(seed), now=T0, replace=False)
    blob = await database.read(
        lambda c: c.execute("SELECT embedding FROM users WHERE id = ?", (str(user),)).fetchone()[0]
    )
    stored = np.frombuffer(blob, dtype="<f8")
    expected = Embedding.centroid([sample(1).embedding, sample(2).embedding])
    np.testing.assert_allclose(stored, expected.vector)


async def test_spoof_scores_are_plain_numbers_even_with_a_key(database: SqliteDatabase) -> None:
    """A spoof score is a scalar, not a voiceprint: a REAL in the clear, key or not."""
    cipher = TemplateCipher(parse_keyring(new_key()))
    users, attempts = SqliteUserRepository(database, cipher=cipher), SqliteAttemptLog(database)
    user = UserId.new()
    for seed, raw in ((1, 0.75), (2, -2.0)):
        await users.save_sample(user, None, sample(seed, spoof_raw=raw), now=T0, replace=False)
    stored = await database.read(
        lambda c: c.execute(
            "SELECT spoof_raw_sum, typeof(spoof_raw_sum) FROM users WHERE id = ?", (str(user),)
        ).fetchone()
    )
    assert tuple(stored) == (-1.25, "real")
    step_up = attempt(user, T0, decision=Decision.STEP_UP, spoof=(0.875, SpoofRisk.HIGH))
    await attempts.append(step_up)
    row = await database.read(
        lambda c: c.execute(
            "SELECT decision, success, spoof_score, spoof_risk FROM auth_attempts WHERE id = ?",
            (str(step_up.id),),
        ).fetchone()
    )
    assert tuple(row) == ("step_up", 0, 0.875, "high")


async def test_operations_run_off_the_event_loop_thread(database: SqliteDatabase) -> None:
    loop_thread = threading.get_ident()
    ran_on = await database.read(lambda _conn: threading.get_ident())
    assert ran_on != loop_thread


async def test_loop_keeps_running_while_another_process_holds_the_write_lock(
    database: SqliteDatabase,
) -> None:
    """A write waiting for the lock blocks its thread, never the event loop."""
    other = sqlite3.connect(database.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    users = SqliteUserRepository(database)
    user = UserId.new()
    saving = asyncio.create_task(users.save_sample(user, None, sample(1), now=T0, replace=False))
    ticks = 0
    while ticks < 20:  # the loop turns while the save waits for the lock
        await asyncio.sleep(0.01)
        ticks += 1
    assert not saving.done()
    other.execute("COMMIT")
    other.close()
    saved = await saving
    assert saved.sample_count == 1


async def test_a_lock_held_too_long_is_storage_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "voiceauth.db"
    async with SqliteDatabase(path, busy_timeout=0.05) as database:
        await database.migrate()
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StorageUnavailableError):
                await SqliteUserRepository(database).save_sample(
                    UserId.new(), None, sample(1), now=T0, replace=False
                )
        finally:
            other.execute("ROLLBACK")
            other.close()
        # The lock released, the same database object works again.
        saved = await SqliteUserRepository(database).save_sample(
            UserId.new(), None, sample(1), now=T0, replace=False
        )
        assert saved.sample_count == 1


async def test_closed_database_is_storage_unavailable(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "voiceauth.db")
    with pytest.raises(StorageUnavailableError):
        await SqliteUserRepository(database).get(UserId.new())
    await database.open()
    await database.close()
    await database.close()  # idempotent
    with pytest.raises(StorageUnavailableError):
        await SqliteUserRepository(database).get(UserId.new())


async def test_unopenable_file_is_storage_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageUnavailableError):
        await SqliteDatabase(blocker / "voiceauth.db").open()


async def test_missing_schema_is_storage_unavailable(tmp_path: Path) -> None:
    async with SqliteDatabase(tmp_path / "voiceauth.db") as database:
        with pytest.raises(StorageUnavailableError):
            await SqliteUserRepository(database).get(UserId.new())


async def test_build_stores_gives_the_embedded_pair(tmp_path: Path) -> None:
    database = wiring.database(Settings(data_dir=tmp_path))
    users, attempts = wiring.stores(database, None)
    assert isinstance(users, SqliteUserRepository)
    assert isinstance(attempts, SqliteAttemptLog)
