# ruff: noqa: PLC0415
"""``voiceauth db migrate|status|new-key|rotate-key``: the database's schema and its template key.

A command-line tool prints (T201); the database adapters (asyncpg) are imported inside the
functions so ``voiceauth --help`` stays fast (PLC0415).

The database is ``DATABASE_URL`` when set (Postgres, Supabase), else the embedded SQLite file
``$VOICEAUTH_DATA_DIR/voiceauth.db``. With ``VOICEAUTH_TEMPLATE_KEY`` set, voiceprints are
sealed at rest (``voiceauth_adapters.sealing``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from voiceauth_web import wiring
from voiceauth_web.settings import Settings
from voiceauth_web.startup_checks import MIGRATE_COMMAND, ROTATE_COMMAND, check_schema

if TYPE_CHECKING:
    from voiceauth_adapters.migrations import SchemaStatus
    from voiceauth_adapters.sealing import ResealProgress, TemplateCensus
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``db migrate`` and ``db status`` to the command line."""
    db = subparsers.add_parser(
        "db",
        help="create, migrate or inspect the database",
        description=(
            "The database is DATABASE_URL when set (Postgres or Supabase), otherwise the "
            "embedded SQLite file $VOICEAUTH_DATA_DIR/voiceauth.db."
        ),
    )
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    migrate = actions.add_parser(
        "migrate",
        help="apply the migrations the database is missing (creates the embedded file)",
        description=(
            "Apply, in order and each in its own transaction, every migration the database "
            "has not applied yet. A database made by the original voiceauth service is "
            "upgraded in place and keeps its rows."
        ),
    )
    migrate.set_defaults(func=_run_migrate)
    status = actions.add_parser(
        "status",
        help="show the schema version; exit status 1 unless it matches this voiceauth",
    )
    status.set_defaults(func=_run_status)
    new_key = actions.add_parser(
        "new-key",
        help="print a new random template key for VOICEAUTH_TEMPLATE_KEY",
        description=(
            "Print 32 random bytes in URL-safe base64: a key for VOICEAUTH_TEMPLATE_KEY, which "
            "encrypts voiceprints at rest (AES-256-GCM). Keep it apart from the database "
            "backups: a voiceprint cannot be read without it."
        ),
    )
    new_key.set_defaults(func=_run_new_key)
    rotate = actions.add_parser(
        "rotate-key",
        help="encrypt every voiceprint under the current template key",
        description=(
            "Encrypt every voiceprint under the first key of VOICEAUTH_TEMPLATE_KEY: those "
            "stored in the clear (first-time enabling) and those under the older keys listed "
            "after it (VOICEAUTH_TEMPLATE_KEY=new,old). Runs in batches, each its own "
            "transaction, beside the running service; run it again to continue after an "
            "interruption. Afterwards the older keys may be removed."
        ),
    )
    rotate.add_argument(
        "--batch-size", type=int, default=500, help="rows per transaction (default 500)"
    )
    rotate.set_defaults(func=_run_rotate)


def _run_new_key(args: argparse.Namespace) -> int:
    del args
    from voiceauth_adapters.sealing import TemplateKey, new_key, parse_keyring

    key = new_key()
    identity: TemplateKey = parse_keyring(key).current
    print(key)
    print(
        f"template key id {identity.key_id.hex()}: set VOICEAUTH_TEMPLATE_KEY to it (or "
        "'new,old' to rotate), then run `voiceauth db rotate-key`; back it up apart from the "
        "database",
        file=sys.stderr,
    )
    return 0


def _run_rotate(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        print("voiceauth: --batch-size must be at least 1", file=sys.stderr)
        return 2
    return asyncio.run(_rotate(Settings.from_env(), batch_size=args.batch_size))


def _run_migrate(args: argparse.Namespace) -> int:
    del args
    return asyncio.run(_migrate(Settings.from_env()))


def _run_status(args: argparse.Namespace) -> int:
    del args
    return asyncio.run(_status(Settings.from_env()))


async def _migrate(settings: Settings) -> int:
    from voiceauth_core.errors import StorageUnavailableError

    try:
        database = wiring.database(settings)
    except ValueError as exc:
        print(f"voiceauth: {exc}", file=sys.stderr)
        return 2
    print(f"database: {database.description}")
    try:
        async with database:
            applied = await database.migrate()
            status = await database.schema_status()
    except StorageUnavailableError as exc:
        print(f"voiceauth: {exc.message}", file=sys.stderr)
        return 1
    for migration in applied:
        print(f"applied {migration.label}")
    if not applied:
        print(f"already at schema version {status.version}; nothing to do")
    else:
        print(f"schema version {status.version}")
    return 0


async def _status(settings: Settings) -> int:
    from voiceauth_core.errors import StorageUnavailableError

    try:
        database = wiring.database(settings)
    except ValueError as exc:
        print(f"voiceauth: {exc}", file=sys.stderr)
        return 2
    print(f"database: {database.description}")
    if settings.database_url is None and not settings.sqlite_path.exists():
        print(f"no database file yet: run `{MIGRATE_COMMAND}` to create it", file=sys.stderr)
        return 1
    census: TemplateCensus | None = None
    try:
        async with database:
            status = await database.schema_status()
            if status.is_current:
                census = await database.template_census()
    except StorageUnavailableError as exc:
        print(f"voiceauth: {exc.message}", file=sys.stderr)
        return 1
    _print_status(status)
    if census is not None:
        _print_census(census, wiring.template_cipher(settings))
    return 0 if status.is_current else 1


async def _rotate(settings: Settings, *, batch_size: int) -> int:
    from voiceauth_core.errors import StorageUnavailableError, TemplateProtectionError

    cipher = wiring.template_cipher(settings)
    if cipher is None:
        print(
            "voiceauth: VOICEAUTH_TEMPLATE_KEY is not set: make a key with "
            "`voiceauth db new-key` and set it (the new key first, any older ones after)",
            file=sys.stderr,
        )
        return 2
    database = wiring.database(settings)
    print(f"database: {database.description}")
    print(f"sealing under template key {cipher.key_id.hex()}")
    last: ResealProgress | None = None
    try:
        async with database:
            await check_schema(database)
            async for progress in database.reseal_templates(cipher, batch_size=batch_size):
                print(f"  resealed {progress.done}/{progress.total} voiceprints", flush=True)
                last = progress
            census = await database.template_census()
    except (StorageUnavailableError, TemplateProtectionError) as exc:
        print(f"voiceauth: {exc.message}", file=sys.stderr)
        print(f"the batches already committed stay; run `{ROTATE_COMMAND}` again", file=sys.stderr)
        return 1
    if last is not None:
        print(
            f"resealed {last.done} voiceprint(s): {last.from_clear} were in the clear, "
            f"{last.from_older_keys} under an older key"
        )
    else:
        print("every voiceprint is already sealed under this key; nothing to do")
    _print_census(census, cipher)
    current = cipher.key_id.hex()
    left = census.clear + sum(n for key_id, n in census.sealed.items() if key_id != current)
    if left:
        print(
            f"{left} voiceprint(s) are not under key {current} yet (written meanwhile by a "
            f"service with another key?): run `{ROTATE_COMMAND}` again",
            file=sys.stderr,
        )
        return 1
    if len(cipher.key_ids) > 1:
        print("the older keys are no longer needed: VOICEAUTH_TEMPLATE_KEY may hold this key alone")
    return 0


def _print_census(census: TemplateCensus, cipher: TemplateCipher | None) -> None:
    held = [] if cipher is None else [key_id.hex() for key_id in cipher.key_ids]
    parts = [f"{census.clear} in the clear"] if census.clear or not census.sealed else []
    for key_id, count in sorted(census.sealed.items()):
        role = (
            "current"
            if held[:1] == [key_id]
            else "older, configured"
            if key_id in held
            else "NOT CONFIGURED"
        )
        parts.append(f"{count} sealed under key {key_id} ({role})")
    print(f"voiceprints: {', '.join(parts)}")


def _print_status(status: SchemaStatus) -> None:
    print(f"schema version: {status.version} (this voiceauth: {status.head})")
    if status.legacy:
        print("the original voiceauth service's tables are present, without migration history")
    for row in status.applied:
        print(f"  applied  {row.version:04d}_{row.name}  {row.applied_at.isoformat()}")
    for migration in status.pending:
        print(f"  pending  {migration.label}")
    for row in status.unknown:
        print(f"  unknown  {row.version:04d}_{row.name}  (made by a newer voiceauth)")
    for migration in status.altered:
        print(f"  altered  {migration.label}  (the file differs from the one applied)")
    from voiceauth_adapters.migrations import SchemaVersionError

    try:
        status.require_current(migrate_command=MIGRATE_COMMAND)
    except SchemaVersionError as exc:
        print(exc.message, file=sys.stderr)
    else:
        print("up to date")
