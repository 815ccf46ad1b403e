"""Voiceprints sealed at rest on both real stores: the raw rows hold no float vector, a moved or
altered value is refused, a removed key stops the service, and rotation reseals every row."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pytest

from tests.contract.store_contract import T0, sample
from tests.integration import postgres_harness
from voiceauth_adapters.postgres import PostgresDatabase
from voiceauth_adapters.sealing import parse_keyring
from voiceauth_adapters.sealing.cipher import TemplateCipher
from voiceauth_adapters.sqlite import SqliteDatabase
from voiceauth_core import Enrollment, TemplateProtectionError, UserId
from voiceauth_core.ports import UserRepository
from voiceauth_web.containers import build_container
from voiceauth_web.settings import Settings
from voiceauth_web.startup_checks import check_templates

pytestmark = pytest.mark.integration

KEY_A = base64.urlsafe_b64encode(bytes(range(32))).decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()
CIPHER_A = TemplateCipher(parse_keyring(KEY_A))
ROTATING = TemplateCipher(parse_keyring(f"{KEY_B},{KEY_A}"))
CIPHER_B = TemplateCipher(parse_keyring(KEY_B))


@dataclass
class Store:
    """A migrated database and raw access to its ``users`` rows, through the driver itself."""

    database: PostgresDatabase | SqliteDatabase
    rows: Callable[[], Awaitable[list[dict[str, Any]]]]
    execute: Callable[[str, tuple[Any, ...]], Awaitable[None]]
    placeholder: Callable[[int], str]
    key: Callable[[UserId], Any]

    def users(self, cipher: TemplateCipher | None) -> UserRepository:
        return self.database.stores(cipher)[0]

    def clear(self, vector: Any) -> Any:
        """A vector as the store's clear column holds it: a float array, or a float64 blob."""
        if isinstance(self.database, PostgresDatabase):
            return [float(x) for x in vector]
        return np.asarray(vector, dtype="<f8").tobytes()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_harness.fresh_database("voiceauth_sealed", migrated=True) as url:
        yield url


async def _sqlite_store(path: Path) -> AsyncIterator[Store]:
    async def rows() -> list[dict[str, Any]]:
        with sqlite3.connect(path) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute("SELECT * FROM users")]

    async def execute(sql: str, args: tuple[Any, ...]) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute(sql, args)

    async with SqliteDatabase(path) as database:
        await database.migrate()
        yield Store(database, rows, execute, lambda n: f"?{n}", lambda user: str(user.value))


async def _postgres_store(url: str) -> AsyncIterator[Store]:
    async def rows() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        try:
            return [dict(row) for row in await conn.fetch("SELECT * FROM users")]
        finally:
            await conn.close()

    async def execute(sql: str, args: tuple[Any, ...]) -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    await execute("TRUNCATE users, auth_attempts, watchlist_entries CASCADE", ())
    async with PostgresDatabase(url, min_size=1, max_size=4) as database:
        yield Store(database, rows, execute, lambda n: f"${n}", lambda user: user.value)


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        async for made in _sqlite_store(tmp_path / "voiceauth.db"):
            yield made
    else:
        async for made in _postgres_store(request.getfixturevalue("postgres_url")):
            yield made


async def _enrol(
    users: UserRepository, seeds: tuple[int, ...] = (1, 2), *, with_phone_band: bool = True
) -> Enrollment:
    user = UserId.new()
    enrollment = None
    for seed in seeds:
        enrollment = await users.save_sample(
            user, None, sample(seed, with_phone_band=with_phone_band), now=T0, replace=False
        )
    assert enrollment is not None
    return enrollment


def _float64_chunks(vector: Any) -> list[bytes]:
    raw = np.asarray(vector, dtype="<f8").tobytes()
    return [raw[i : i + 8] for i in range(0, len(raw), 8)]


async def test_the_raw_row_holds_no_float_vector(store: Store) -> None:
    enrollment = await _enrol(store.users(CIPHER_A))
    assert enrollment.phone_band_sum is not None
    (row,) = await store.rows()
    assert row["embedding"] is None
    assert row["embedding_sum"] is None
    assert row["phone_band_sum"] is None
    for name, value in row.items():
        assert not isinstance(value, list | tuple), name  # no FLOAT8[] anywhere
    chunks = (
        _float64_chunks(enrollment.embedding_sum)
        + _float64_chunks(enrollment.centroid.vector)
        + _float64_chunks(enrollment.phone_band_sum)
    )
    for name in ("embedding_sealed", "embedding_sum_sealed", "phone_band_sum_sealed"):
        sealed = bytes(row[name])
        assert sealed[0] == 1
        assert sealed[1:5] == CIPHER_A.key_id
        assert not any(chunk in sealed for chunk in chunks), name
    # And the store reads it back exactly.
    loaded = await store.users(CIPHER_A).get(enrollment.user_id)
    assert loaded is not None
    np.testing.assert_array_equal(loaded.embedding_sum, enrollment.embedding_sum)
    assert loaded.phone_band_sum is not None
    np.testing.assert_array_equal(loaded.phone_band_sum, enrollment.phone_band_sum)
    assert loaded.sample_count == 2


async def test_without_a_key_storage_stays_in_the_clear(store: Store) -> None:
    enrollment = await _enrol(store.users(None))
    (row,) = await store.rows()
    assert row["embedding_sealed"] is None
    assert row["embedding_sum_sealed"] is None
    assert row["phone_band_sum_sealed"] is None
    assert row["embedding_sum"] is not None
    assert row["phone_band_sum"] is not None
    census = await store.database.template_census()
    assert census.clear == 1
    assert not census.sealed
    await check_templates(store.database, None)
    # A key configured later still reads it, and seals the next sample.
    grown = await store.users(CIPHER_A).save_sample(
        enrollment.user_id, None, sample(3, with_phone_band=True), now=T0, replace=False
    )
    assert grown.sample_count == 3
    assert grown.phone_band_sum is not None
    (row,) = await store.rows()
    assert row["embedding_sum"] is None
    assert row["embedding_sum_sealed"] is not None
    assert row["phone_band_sum"] is None
    assert row["phone_band_sum_sealed"] is not None


async def test_a_voiceprint_moved_to_another_users_row_is_refused(store: Store) -> None:
    users = store.users(CIPHER_A)
    victim, attacker = await _enrol(users, (1,)), await _enrol(users, (2,))
    rows = {row["id"]: row for row in await store.rows()}
    stolen = rows[store.key(attacker.user_id)]["embedding_sum_sealed"]
    p = store.placeholder
    await store.execute(
        f"UPDATE users SET embedding_sum_sealed = {p(1)} WHERE id = {p(2)}",
        (stolen, store.key(victim.user_id)),
    )
    with pytest.raises(TemplateProtectionError, match="integrity check"):
        await users.get(victim.user_id)
    assert await users.get(attacker.user_id) is not None


@pytest.mark.parametrize(
    ("column", "stand_in"),
    [
        ("embedding_sum_sealed", "embedding_sealed"),  # the centroid for the sum
        ("phone_band_sum_sealed", "embedding_sum_sealed"),  # the sum for the phone-band sum
    ],
)
async def test_one_sealed_vector_cannot_stand_in_for_another(
    store: Store, column: str, stand_in: str
) -> None:
    users = store.users(CIPHER_A)
    enrollment = await _enrol(users)
    p = store.placeholder
    await store.execute(
        f"UPDATE users SET {column} = {stand_in} WHERE id = {p(1)}",
        (store.key(enrollment.user_id),),
    )
    with pytest.raises(TemplateProtectionError, match="integrity check"):
        await users.get(enrollment.user_id)


async def test_an_altered_byte_is_refused(store: Store) -> None:
    users = store.users(CIPHER_A)
    enrollment = await _enrol(users)
    (row,) = await store.rows()
    altered = bytearray(row["embedding_sum_sealed"])
    altered[40] ^= 0x80
    p = store.placeholder
    await store.execute(
        f"UPDATE users SET embedding_sum_sealed = {p(1)} WHERE id = {p(2)}",
        (bytes(altered), store.key(enrollment.user_id)),
    )
    with pytest.raises(TemplateProtectionError):
        await users.get(enrollment.user_id)
    # A later sample is refused too: nothing is built on a voiceprint that does not open.
    with pytest.raises(TemplateProtectionError):
        await users.save_sample(enrollment.user_id, None, sample(5), now=T0, replace=False)


async def test_a_removed_or_wrong_key_is_refused_at_start_up_and_on_read(store: Store) -> None:
    enrollment = await _enrol(store.users(CIPHER_A))
    with pytest.raises(TemplateProtectionError, match="VOICEAUTH_TEMPLATE_KEY is not set"):
        await check_templates(store.database, None)
    with pytest.raises(TemplateProtectionError, match="VOICEAUTH_TEMPLATE_KEY is not set"):
        await store.users(None).get(enrollment.user_id)
    with pytest.raises(TemplateProtectionError, match=CIPHER_A.key_id.hex()):
        await check_templates(store.database, CIPHER_B)
    with pytest.raises(TemplateProtectionError, match="does not hold"):
        await store.users(CIPHER_B).get(enrollment.user_id)
    census = await check_templates(store.database, ROTATING)
    assert census.sealed == {CIPHER_A.key_id.hex(): 1}


async def test_rotation_reseals_every_row_under_the_new_key(store: Store) -> None:
    # With and without a phone-band twin, in the clear and under the older key.
    clear = [
        await _enrol(store.users(None), (seed,), with_phone_band=seed != 3) for seed in (1, 2, 3)
    ]
    sealed = [
        await _enrol(store.users(CIPHER_A), (seed, seed + 1), with_phone_band=seed != 5)
        for seed in (4, 5)
    ]
    # A row of the original service without a usable voiceprint: kept, and sealed too.
    p = store.placeholder
    odd = UserId.new()
    await store.execute(
        "INSERT INTO users (id, embedding, sample_count, model_id, enrolled_at, updated_at)"
        f" VALUES ({p(1)}, {p(2)}, 0, 'legacy', {p(3)}, {p(3)})",
        (
            store.key(odd),
            [0.0] * 192 if isinstance(store.database, PostgresDatabase) else bytes(8 * 192),
            T0 if isinstance(store.database, PostgresDatabase) else "2026-03-01T12:00:00.000000Z",
        ),
    )

    steps = [step async for step in store.database.reseal_templates(ROTATING, batch_size=2)]
    assert [step.done for step in steps] == [2, 4, 6]
    assert steps[-1].total == 6
    assert steps[-1].from_clear == 4
    assert steps[-1].from_older_keys == 2

    census = await store.database.template_census()
    assert census.clear == 0
    assert census.sealed == {CIPHER_B.key_id.hex(): 6}
    twins = 0
    for row in await store.rows():
        assert row["embedding"] is None
        assert row["embedding_sum"] is None
        assert row["phone_band_sum"] is None
        if row["phone_band_sum_sealed"] is not None:
            assert bytes(row["phone_band_sum_sealed"])[1:5] == CIPHER_B.key_id
            twins += 1
    assert twins == 3
    # Key B alone reads every enrolment, exactly, with its twin or without.
    users = store.users(CIPHER_B)
    for enrollment in clear + sealed:
        loaded = await users.get(enrollment.user_id)
        assert loaded is not None
        np.testing.assert_allclose(loaded.embedding_sum, enrollment.embedding_sum, rtol=0, atol=0)
        if enrollment.phone_band_sum is None:
            assert loaded.phone_band_sum is None
        else:
            assert loaded.phone_band_sum is not None
            np.testing.assert_array_equal(loaded.phone_band_sum, enrollment.phone_band_sum)
    await check_templates(store.database, CIPHER_B)
    # Nothing is left to do the second time.
    assert [step async for step in store.database.reseal_templates(CIPHER_B)] == []


async def test_rotation_reseals_the_lowest_possible_user_id_too(store: Store) -> None:
    # A client chooses user ids: the all-zero UUID is one, and the first batch must include it.
    users = store.users(None)
    lowest = UserId.parse("00000000-0000-0000-0000-000000000000")
    await users.save_sample(lowest, None, sample(1), now=T0, replace=False)
    await _enrol(users, (2,))

    steps = [step async for step in store.database.reseal_templates(CIPHER_A, batch_size=1)]
    assert [step.done for step in steps] == [1, 2]
    census = await store.database.template_census()
    assert census.clear == 0
    assert census.sealed == {CIPHER_A.key_id.hex(): 2}
    loaded = await store.users(CIPHER_A).get(lowest)
    assert loaded is not None
    assert loaded.sample_count == 1


async def test_rotation_stops_on_a_value_it_cannot_open_keeping_finished_batches(
    store: Store,
) -> None:
    for seed in (1, 2, 3):
        await _enrol(store.users(None), (seed,))
    foreign = await _enrol(store.users(CIPHER_B), (9,))  # a key the rotation does not hold
    # Rows are resealed in id order: those before the foreign one are done when it stops.
    ids = sorted(str(row["id"]) for row in await store.rows())
    keyed = ids.index(str(foreign.user_id.value))
    with pytest.raises(TemplateProtectionError, match="does not hold"):
        async for _ in store.database.reseal_templates(CIPHER_A, batch_size=1):
            pass
    census = await store.database.template_census()
    assert census.sealed.get(CIPHER_A.key_id.hex(), 0) == keyed  # the batches before it stay
    assert census.sealed[CIPHER_B.key_id.hex()] == 1


async def test_the_census_and_rotation_cover_the_phone_band_column(store: Store) -> None:
    """A twin under another key than its row's, or left in the clear, is counted and resealed."""
    users = store.users(CIPHER_A)
    other_key, in_clear = await _enrol(users, (1,)), await _enrol(users, (2,))
    assert other_key.phone_band_sum is not None
    assert in_clear.phone_band_sum is not None
    p = store.placeholder
    await store.execute(
        f"UPDATE users SET phone_band_sum_sealed = {p(1)} WHERE id = {p(2)}",
        (
            CIPHER_B.seal(other_key.user_id, "phone_band_sum", other_key.phone_band_sum),
            store.key(other_key.user_id),
        ),
    )
    await store.execute(
        f"UPDATE users SET phone_band_sum = {p(1)}, phone_band_sum_sealed = NULL WHERE id = {p(2)}",
        (store.clear(in_clear.phone_band_sum), store.key(in_clear.user_id)),
    )

    census = await store.database.template_census()
    assert census.clear == 1
    assert census.sealed == {CIPHER_A.key_id.hex(): 2, CIPHER_B.key_id.hex(): 1}
    with pytest.raises(TemplateProtectionError, match=CIPHER_B.key_id.hex()):
        await check_templates(store.database, CIPHER_A)
    await check_templates(store.database, ROTATING)

    steps = [step async for step in store.database.reseal_templates(ROTATING)]
    assert steps[-1].done == steps[-1].total == 2
    assert steps[-1].from_clear == 1
    census = await store.database.template_census()
    assert census.clear == 0
    assert census.sealed == {CIPHER_B.key_id.hex(): 2}
    for row in await store.rows():
        assert row["phone_band_sum"] is None
        assert bytes(row["phone_band_sum_sealed"])[1:5] == CIPHER_B.key_id
    for enrollment in (other_key, in_clear):
        loaded = await store.users(CIPHER_B).get(enrollment.user_id)
        assert loaded is not None
        assert loaded.phone_band_sum is not None
        np.testing.assert_array_equal(loaded.phone_band_sum, enrollment.phone_band_sum)
    assert [step async for step in store.database.reseal_templates(CIPHER_B)] == []


async def test_the_container_gives_both_stores_the_configured_cipher(tmp_path: Path) -> None:
    keyed = build_container(Settings(data_dir=tmp_path, template_key=f"{KEY_B},{KEY_A}"))
    cipher = keyed.adapters.cipher()
    assert isinstance(cipher, TemplateCipher)
    assert cipher.key_ids == (CIPHER_B.key_id, CIPHER_A.key_id)
    database = keyed.adapters.database()
    async with database:
        await database.migrate()
        enrollment = await _enrol(keyed.adapters.raw_users())
        await keyed.adapters.template_check()(database)
        unkeyed = build_container(Settings(data_dir=tmp_path))
        assert unkeyed.adapters.cipher() is None
        with pytest.raises(TemplateProtectionError, match="VOICEAUTH_TEMPLATE_KEY is not set"):
            await unkeyed.adapters.template_check()(database)
    assert enrollment.sample_count == 2
