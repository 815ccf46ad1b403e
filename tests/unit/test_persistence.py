"""Persistence without a database: migration catalog, schema status, SQL splitting, URL options."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceauth_adapters.migrations import (
    LEGACY_MODEL_ID,
    AppliedMigration,
    SchemaStatus,
    SchemaVersionError,
    load_migrations,
)
from voiceauth_adapters.postgres import PostgresDatabase, connection_options, redacted_dsn
from voiceauth_adapters.postgres import codec as postgres_codec
from voiceauth_adapters.sealing.cipher import Field, TemplateCipher
from voiceauth_adapters.sealing.columns import PROBE_FIELDS, VECTOR_FIELDS, WATCHLIST_FIELDS
from voiceauth_adapters.sealing.keys import parse_keyring
from voiceauth_adapters.sqlite import SqliteDatabase
from voiceauth_adapters.sqlite import codec as sqlite_codec
from voiceauth_adapters.sqlite.codec import decode_time, decode_vector, encode_time, encode_vector
from voiceauth_adapters.sqlite.migrator import statements
from voiceauth_core import UserId
from voiceauth_web import wiring
from voiceauth_web.settings import Settings, SettingsError
from voiceauth_web.startup_checks import MIGRATE_COMMAND

pytestmark = pytest.mark.unit

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


# The catalog -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_migrations_are_numbered_from_one_without_gaps(dialect: str) -> None:
    migrations = load_migrations(dialect)  # type: ignore[arg-type]
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert len({m.checksum for m in migrations}) == len(migrations)


def test_dialects_share_versions_and_names() -> None:
    assert [m.label for m in load_migrations("postgres")] == [
        m.label for m in load_migrations("sqlite")
    ]


def test_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="dialect"):
        load_migrations("oracle")  # type: ignore[arg-type]


def test_original_enrolments_get_the_legacy_model_id() -> None:
    upgrade = load_migrations("postgres")[1]
    assert f"'{LEGACY_MODEL_ID}'" in upgrade.sql


def _last_clear_index(sql: str) -> str:
    """The condition of the last ``users_in_the_clear`` index the migrations create."""
    return sql.rsplit("CREATE INDEX users_in_the_clear", 1)[-1].split(";", 1)[0]


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_every_sealed_field_has_its_column_rule_and_census_index(dialect: str) -> None:
    """Each field the cipher seals is a column pair with the one-form rule and a key index."""
    shipped = "\n".join(m.sql for m in load_migrations(dialect))  # type: ignore[arg-type]
    # The stores walk these lists.
    assert get_args(Field) == VECTOR_FIELDS + WATCHLIST_FIELDS + PROBE_FIELDS
    for field in VECTOR_FIELDS:
        assert f"{field}_sealed" in shipped, field
        assert f"users_{field}_one_form" in shipped, field
        assert f"users_{field}_key" in shipped, field
        assert f"{field} IS NOT NULL" in _last_clear_index(shipped), field
    for field, table, key in (
        ("watchlist_embedding", "watchlist_entries", "watchlist_entries_key"),
        ("probe_embedding", "auth_attempts", "auth_attempts_probe_key"),
    ):
        assert f"{field}_sealed" in shipped, field
        assert f"{table}_one_form" in shipped or f"{table}_probe_one_form" in shipped, field
        assert f"CREATE INDEX {key}" in shipped, field


def test_top_level_migrations_folder_is_the_packaged_one() -> None:
    root = Path(__file__).resolve().parents[2]
    for dialect in ("postgres", "sqlite"):
        shipped = {m.label + ".sql": m.sql for m in load_migrations(dialect)}  # type: ignore[arg-type]
        linked = {p.name: p.read_text() for p in (root / "migrations" / dialect).glob("*.sql")}
        assert linked == shipped


# Schema status ---------------------------------------------------------------------------------


def _applied(*versions: int, checksum: str | None = None) -> tuple[AppliedMigration, ...]:
    known = {m.version: m for m in load_migrations("postgres")}
    return tuple(
        AppliedMigration(
            version=v,
            name=known[v].name if v in known else "future",
            checksum=checksum or (known[v].checksum if v in known else "x"),
            applied_at=WHEN,
        )
        for v in versions
    )


def test_status_of_an_empty_database() -> None:
    status = SchemaStatus(known=load_migrations("postgres"), applied=())
    assert status.version == 0
    assert status.head == len(status.known)
    assert status.pending == status.known
    assert not status.is_current
    with pytest.raises(SchemaVersionError) as refused:
        status.require_current(migrate_command=MIGRATE_COMMAND)
    assert "schema version 0" in refused.value.message
    assert f"Run `{MIGRATE_COMMAND}`" in refused.value.message
    status.require_not_ahead()  # behind is not ahead


def test_status_of_an_original_database_says_so() -> None:
    status = SchemaStatus(known=load_migrations("postgres"), applied=(), legacy=True)
    with pytest.raises(SchemaVersionError, match="original voiceauth service"):
        status.require_current(migrate_command=MIGRATE_COMMAND)


def test_status_at_head_is_current() -> None:
    known = load_migrations("postgres")
    status = SchemaStatus(known=known, applied=_applied(*range(1, len(known) + 1)))
    assert status.is_current
    assert status.version == status.head
    status.require_current(migrate_command=MIGRATE_COMMAND)


def test_status_ahead_names_the_newer_version() -> None:
    known = load_migrations("postgres")
    status = SchemaStatus(known=known, applied=_applied(*range(1, len(known) + 1), 99))
    assert [row.version for row in status.unknown] == [99]
    with pytest.raises(SchemaVersionError, match="version 99, newer than this voiceauth"):
        status.require_current(migrate_command=MIGRATE_COMMAND)


def test_status_with_an_edited_migration_is_refused() -> None:
    known = load_migrations("postgres")
    status = SchemaStatus(known=known, applied=_applied(1, checksum="edited"))
    assert [m.version for m in status.altered] == [1]
    with pytest.raises(SchemaVersionError, match="0001_original_schema differs"):
        status.require_not_ahead()


# SQLite script splitting and codecs -----------------------------------------------------------


def test_statements_split_a_script_and_keep_semicolons_in_strings() -> None:
    script = "-- a comment; with a semicolon\nCREATE TABLE t (x TEXT DEFAULT ';');\nSELECT 1;\n"
    assert list(statements(script)) == [
        "-- a comment; with a semicolon\nCREATE TABLE t (x TEXT DEFAULT ';');",
        "SELECT 1;",
    ]


def test_statements_allow_a_script_of_comments_only() -> None:
    assert list(statements("-- nothing to do here\n")) == []


def test_statements_refuse_an_unterminated_statement() -> None:
    with pytest.raises(ValueError, match="semicolon"):
        list(statements("SELECT 1;\nSELECT 2\n"))


@given(
    st.lists(
        st.datetimes(
            min_value=datetime(1970, 1, 2),  # noqa: DTZ001 - hypothesis takes naive bounds
            max_value=datetime(9999, 1, 1),  # noqa: DTZ001
            timezones=st.sampled_from([UTC, None, timezone(timedelta(hours=-5))]),
        ),
        min_size=2,
        max_size=5,
    )
)
def test_stored_times_round_trip_and_sort_like_times(times: list[datetime]) -> None:
    aware = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in times]
    encoded = [encode_time(t) for t in times]
    assert [decode_time(e) for e in encoded] == aware
    assert sorted(encoded) == [encode_time(t) for t in sorted(aware)]


def test_stored_times_are_utc_whatever_the_zone() -> None:
    paris = WHEN.astimezone(timezone(timedelta(hours=1)))
    assert encode_time(paris) == "2026-01-01T00:00:00.000000Z"


def test_stored_vectors_round_trip_exactly() -> None:
    user = UserId.new()
    vector = np.random.default_rng(0).normal(size=192)
    clear, sealed = encode_vector(user, vector, field="embedding_sum")
    assert sealed is None
    decoded = decode_vector(user, field="embedding_sum", clear=clear, sealed=sealed)
    np.testing.assert_array_equal(decoded, vector)


@pytest.mark.parametrize("codec", [sqlite_codec, postgres_codec], ids=["sqlite", "postgres"])
@pytest.mark.parametrize("keyed", [False, True], ids=["clear", "sealed"])
def test_an_optional_vector_round_trips_and_its_absence_is_two_nulls(
    codec: Any, keyed: bool
) -> None:
    user = UserId.new()
    cipher = TemplateCipher(parse_keyring("B" * 43)) if keyed else None
    vector = np.random.default_rng(1).normal(size=192)
    clear, sealed = codec.encode_optional_vector(
        user, vector, field="phone_band_sum", cipher=cipher
    )
    assert (clear is None, sealed is None) == ((True, False) if keyed else (False, True))
    decoded = codec.decode_optional_vector(
        user, field="phone_band_sum", clear=clear, sealed=sealed, cipher=cipher
    )
    np.testing.assert_array_equal(decoded, vector)
    assert codec.encode_optional_vector(user, None, field="phone_band_sum", cipher=cipher) == (
        None,
        None,
    )
    assert (
        codec.decode_optional_vector(
            user, field="phone_band_sum", clear=None, sealed=None, cipher=cipher
        )
        is None
    )


# DATABASE_URL ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "setting", "cache"),
    [
        ("postgresql://u:p@db.example.supabase.co:5432/postgres", None, 100),
        ("postgresql://u:p@aws-0-eu.pooler.supabase.com:6543/postgres", None, 0),
        ("postgresql://u:p@aws-0-eu.pooler.supabase.com:6543/postgres", True, 100),
        ("postgres://u@localhost/db?pgbouncer=true", None, 0),
        ("postgres://u@localhost/db", False, 0),
        ("postgres://u@localhost/db", None, 100),
    ],
)
def test_statement_cache_is_off_behind_a_transaction_pooler(
    url: str, setting: bool | None, cache: int
) -> None:
    assert connection_options(url, statement_cache=setting).statement_cache_size == cache


def test_pgbouncer_option_is_removed_and_others_kept() -> None:
    options = connection_options("postgres://u@h/db?pgbouncer=true&sslmode=require")
    assert options.dsn == "postgres://u@h/db?sslmode=require"


@pytest.mark.parametrize(
    "url", ["https://abc.supabase.co", "mysql://u@h/db", "postgres://u@h:port/db", ""]
)
def test_urls_that_are_not_postgres_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL"):
        connection_options(url)


def test_redacted_url_hides_the_password_and_query() -> None:
    shown = redacted_dsn("postgresql://user:s3cret@db.example.com:6543/postgres?sslmode=require")
    assert shown == "postgresql://user@db.example.com:6543/postgres"


def test_pool_sizes_are_checked() -> None:
    with pytest.raises(ValueError, match="min_size"):
        PostgresDatabase("postgres://u@h/db", min_size=5, max_size=2)


# Choosing the database -------------------------------------------------------------------------


def test_database_url_selects_postgres_with_the_pool_settings(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql://u:p@aws-0-eu.pooler.supabase.com:6543/postgres",
        db_pool_min=2,
        db_pool_max=7,
        data_dir=tmp_path,
    )
    database = wiring.database(settings)
    assert isinstance(database, PostgresDatabase)
    assert database.statement_cache_size == 0
    assert "p@" not in database.description


def test_no_database_url_selects_the_embedded_file(tmp_path: Path) -> None:
    database = wiring.database(Settings(data_dir=tmp_path))
    assert isinstance(database, SqliteDatabase)
    assert database.path == tmp_path / "voiceauth.db"
    assert not database.path.exists()  # nothing happens before open()


def test_uuid_text_order_is_uuid_order() -> None:
    """SQLite sorts ids as text and Postgres as UUIDs: the same order, so cursors agree."""
    ids = [uuid.uuid4() for _ in range(200)]
    assert sorted(ids, key=str) == sorted(ids, key=lambda u: u.bytes)


def test_settings_refuse_a_database_url_that_is_not_postgres() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL must be a postgres://"):
        Settings.from_env({"DATABASE_URL": "https://abc.supabase.co"})
    accepted = Settings.from_env({"DATABASE_URL": "postgresql://u@h:6543/postgres"})
    assert accepted.database_url == "postgresql://u@h:6543/postgres"
