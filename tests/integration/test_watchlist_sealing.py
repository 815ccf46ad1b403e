"""Watchlist entries and kept probes are sealed like voiceprints: census, reseal, erasure."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.contract.store_contract import T0, attempt, entry, sample
from tests.integration import postgres_harness
from voiceauth_adapters.postgres import PostgresDatabase
from voiceauth_adapters.sealing import new_key, parse_keyring
from voiceauth_adapters.sealing.cipher import TemplateCipher
from voiceauth_adapters.sql import Database
from voiceauth_adapters.sqlite import SqliteDatabase
from voiceauth_core import TemplateProtectionError, UserId

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_harness.fresh_database("voiceauth_watchlist_seal", migrated=True) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        opened: Database = SqliteDatabase(tmp_path / "voiceauth.db")
    else:
        conn = await asyncpg.connect(postgres_url)
        try:
            await conn.execute("TRUNCATE users, auth_attempts, watchlist_entries CASCADE")
        finally:
            await conn.close()
        opened = PostgresDatabase(postgres_url)
    async with opened:
        await opened.migrate()
        yield opened


async def test_rotate_key_seals_the_watchlist_and_the_kept_probes(database: Database) -> None:
    users, attempts = database.stores()
    user = UserId.new()
    await users.save_sample(user, None, sample(1), now=T0, replace=False)
    kept = replace(
        attempt(user, T0), probe=sample(5).embedding, probe_expires_at=T0 + timedelta(days=30)
    )
    await attempts.append(kept)
    listed = entry(9, T0)
    await database.watchlist().add(listed)

    before = await database.template_census()
    assert before.clear == 3  # the user, the watchlist entry, the probe
    assert not before.sealed

    cipher = TemplateCipher(parse_keyring(new_key()))
    progress = [p async for p in database.reseal_templates(cipher, batch_size=1)]
    assert progress[-1].total == progress[-1].done == 3
    after = await database.template_census()
    assert after.clear == 0
    assert after.sealed == {cipher.key_id.hex(): 3}

    # Sealed, they open with the key and refuse to open without it.
    opened = await database.watchlist(cipher).get(listed.id)
    assert opened is not None
    assert opened.embedding.cosine(listed.embedding) > 0.999999
    probe = await database.stores(cipher)[1].get(kept.id, now=T0)
    assert probe is not None
    assert probe.probe is not None
    assert probe.probe.cosine(sample(5).embedding) > 0.999999
    with pytest.raises(TemplateProtectionError):
        await database.watchlist().entries()
    with pytest.raises(TemplateProtectionError):
        await database.stores()[1].get(kept.id, now=T0)
    with pytest.raises(TemplateProtectionError):
        after.require_readable(None)


async def test_a_sealed_entry_moved_to_another_row_does_not_open(tmp_path: Path) -> None:
    cipher = TemplateCipher(parse_keyring(new_key()))
    async with SqliteDatabase(tmp_path / "voiceauth.db") as database:
        await database.migrate()
        watchlist = database.watchlist(cipher)
        first, second = entry(1, T0), entry(2, T0 + timedelta(seconds=1))
        await watchlist.add(first)
        await watchlist.add(second)
        with sqlite3.connect(tmp_path / "voiceauth.db") as conn:
            conn.execute(
                "UPDATE watchlist_entries SET watchlist_embedding_sealed ="
                " (SELECT watchlist_embedding_sealed FROM watchlist_entries WHERE id = ?)"
                " WHERE id = ?",
                (str(first.id), str(second.id)),
            )
        conn.close()
        assert await watchlist.get(first.id) is not None
        with pytest.raises(TemplateProtectionError):
            await watchlist.get(second.id)
