"""pgvector is looked for at start: this machine's PostgreSQL has no ``vector`` extension (no
Debian package for it here), so the real answer is "not available"; SQLite is not asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration import postgres_harness
from voiceauth_adapters.postgres import PostgresDatabase
from voiceauth_adapters.postgres.extensions import VectorExtension, vector_extension
from voiceauth_adapters.sqlite import SqliteDatabase
from voiceauth_web.startup_checks import check_vector_search

pytestmark = pytest.mark.integration


@pytest.fixture
async def database() -> AsyncIterator[PostgresDatabase]:
    with postgres_harness.fresh_database("voiceauth_pgvector") as url:
        async with PostgresDatabase(url, min_size=1, max_size=1) as opened:
            yield opened


async def test_the_local_postgres_offers_no_pgvector(database: PostgresDatabase) -> None:
    async with database.connection() as conn:
        server_has_it = await conn.fetchval(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
        )
    assert server_has_it == 0  # the premise: if this fails, the machine gained pgvector
    assert await vector_extension(database) is VectorExtension.NOT_AVAILABLE
    assert await check_vector_search(database) == "not available"


async def test_a_database_that_cannot_answer_is_unknown_and_does_not_stop_the_start(
    database: PostgresDatabase,
) -> None:
    await database.close()
    assert await check_vector_search(database) == "unknown"


async def test_sqlite_is_not_asked(tmp_path: Path) -> None:
    async with SqliteDatabase(tmp_path / "voiceauth.db") as sqlite:
        assert await check_vector_search(sqlite) == "not postgres"
