"""On a Supabase-like database, the public API roles can read no voiceprint (migration 0003)."""

from __future__ import annotations

import asyncpg
import pytest

from tests.integration import postgres_harness
from voiceauth_adapters.postgres import PostgresDatabase

pytestmark = pytest.mark.integration

API_ROLES = ("anon", "authenticated")
VOICEPRINT_COLUMNS = (
    "embedding",
    "embedding_sum",
    "embedding_sealed",
    "embedding_sum_sealed",
    "phone_band_sum",
    "phone_band_sum_sealed",
)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(postgres_harness.require_server().admin_dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _existing_roles() -> set[str]:
    connection = await asyncpg.connect(postgres_harness.require_server().admin_dsn)
    try:
        rows = await connection.fetch(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY($1)", API_ROLES
        )
        return {row["rolname"] for row in rows}
    finally:
        await connection.close()


async def test_api_roles_cannot_read_voiceprints() -> None:
    created = [role for role in API_ROLES if role not in await _existing_roles()]
    for role in created:
        await _admin(f"CREATE ROLE {role} NOLOGIN")
    try:
        with postgres_harness.fresh_database("voiceauth_rls") as dsn:
            connection = await asyncpg.connect(dsn)
            try:
                # As on Supabase: every new table in `public` is granted to the API roles.
                await connection.execute(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
                    "GRANT ALL ON TABLES TO anon, authenticated"
                )
                async with PostgresDatabase(dsn, min_size=1, max_size=1) as database:
                    await database.migrate()
                await connection.execute(
                    "INSERT INTO users (id, embedding_sum, embedding, sample_count, "
                    "speech_seconds, model_id, enrolled_at, updated_at) VALUES "
                    "(gen_random_uuid(), ARRAY[1.0]::float8[], ARRAY[1.0]::float8[], 1, 3.0, 'm', "
                    "now(), now())"
                )
                secured = await connection.fetch(
                    "SELECT relname FROM pg_class WHERE relrowsecurity AND relname = ANY($1)",
                    ["users", "auth_attempts", "schema_migrations"],
                )
                assert {row["relname"] for row in secured} == {
                    "users",
                    "auth_attempts",
                    "schema_migrations",
                }
                # Every voiceprint column, those added after 0003 included.
                for role in API_ROLES:
                    for column in VOICEPRINT_COLUMNS:
                        async with connection.transaction():
                            await connection.execute(f"SET LOCAL ROLE {role}")
                            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                                await connection.fetch(f"SELECT {column} FROM users")
                # The owner (voiceauth's own connection) is not restricted.
                assert await connection.fetchval("SELECT count(*) FROM users") == 1
            finally:
                await connection.close()
    finally:
        for role in created:
            await _admin(f"DROP ROLE IF EXISTS {role}")
