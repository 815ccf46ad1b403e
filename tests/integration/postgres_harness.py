"""A real PostgreSQL for the tests, with nothing for a developer to set up by hand.

The local server (``VOICEAUTH_TEST_POSTGRES``, default ``postgresql://postgres@127.0.0.1:5432/
postgres``, an admin connection) is used when it answers; otherwise a throwaway cluster is started
with the machine's PostgreSQL binaries (``/usr/lib/postgresql/*/bin``, ``initdb`` + ``pg_ctl``) in a
temporary folder on a free port, and stopped when the test process exits. Every user of the
harness gets its own uniquely named database, dropped afterwards.

Without either, a test asking for Postgres is skipped on a developer's machine and FAILS in CI
(``CI=true``): a skipped test in CI is a test that does not exist.

Import :func:`require_server` and :func:`fresh_database` from here (the web end-to-end tests do
too); each test module wraps them in its own fixtures.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

__all__ = ["PostgresServer", "PostgresUnavailableError", "fresh_database", "require_server"]

T = TypeVar("T")

DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


class PostgresUnavailableError(RuntimeError):
    """Neither a local server nor the binaries to start one were found."""


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a private loop in another thread (safe inside any loop)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="postgres-harness") as pool:
        return pool.submit(lambda: asyncio.run(_await(make))).result()


async def _await(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


@dataclass(slots=True)
class PostgresServer:
    """A reachable server and an admin URL on it."""

    admin_dsn: str
    cluster_dir: Path | None = None  # set for a throwaway cluster this process started
    run_as: list[str] | None = None

    def dsn_for(self, database: str) -> str:
        """The admin URL pointed at another database."""
        return urlunsplit(urlsplit(self.admin_dsn)._replace(path=f"/{database}"))

    def create_database(self, prefix: str = "voiceauth_test") -> str:
        """A new empty database with a unique name; returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"

        async def create() -> None:
            conn = await asyncpg.connect(self.admin_dsn, timeout=10)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        run_async(create)
        return self.dsn_for(name)

    def drop_database(self, dsn: str) -> None:
        """Drop a database made by :meth:`create_database`, disconnecting whoever is on it."""
        name = urlsplit(dsn).path.lstrip("/")

        async def drop() -> None:
            conn = await asyncpg.connect(self.admin_dsn, timeout=10)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        run_async(drop)

    def stop(self) -> None:
        """Stop and delete a throwaway cluster (nothing for a server this process did not start)."""
        if self.cluster_dir is None:
            return
        command = [*(self.run_as or []), _binary("pg_ctl"), "-D", str(self.cluster_dir / "data")]
        subprocess.run(
            [*command, "-m", "immediate", "-w", "stop"], check=False, capture_output=True
        )
        shutil.rmtree(self.cluster_dir, ignore_errors=True)
        self.cluster_dir = None


def _reachable(dsn: str) -> bool:
    async def probe() -> None:
        conn = await asyncpg.connect(dsn, timeout=3)
        await conn.close()

    try:
        run_async(probe)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return True


def _binary(name: str) -> str:
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path is None:
        raise PostgresUnavailableError(f"no PostgreSQL {name} binary on this machine")
    return on_path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_throwaway_cluster() -> PostgresServer:
    """initdb + pg_ctl in a temporary folder, trust auth, on a free loopback port.

    PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` system user.

    Raises:
        PostgresUnavailableError: No binaries, or the cluster did not start.
    """
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="voiceauth-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailableError("running as root and no postgres user") from None
        os.chown(root, account.pw_uid, account.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    server = PostgresServer(
        admin_dsn=f"postgresql://postgres@127.0.0.1:{port}/postgres",
        cluster_dir=root,
        run_as=run_as,
    )
    try:
        subprocess.run(
            [*run_as, initdb, "-D", str(root / "data"), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*run_as, pg_ctl, "-D", str(root / "data"), "-o", options,
             "-l", str(root / "server.log"), "-w", "-t", "60", "start"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        server.stop()
        raise PostgresUnavailableError(f"could not start a throwaway cluster: {exc}") from exc
    atexit.register(server.stop)
    return server


_lock = threading.Lock()
_server: PostgresServer | None = None
_failure: str | None = None


def shared_server() -> PostgresServer:
    """The process's server: the local one if it answers, else a throwaway cluster (started once).

    Raises:
        PostgresUnavailableError: Neither is available.
    """
    global _server, _failure  # noqa: PLW0603 - one server per test process, by design
    with _lock:
        if _server is not None:
            return _server
        if _failure is not None:
            raise PostgresUnavailableError(_failure)
        admin = os.environ.get("VOICEAUTH_TEST_POSTGRES", DEFAULT_ADMIN_DSN)
        if _reachable(admin):
            _server = PostgresServer(admin_dsn=admin)
            return _server
        try:
            _server = start_throwaway_cluster()
        except PostgresUnavailableError as exc:
            _failure = f"no PostgreSQL at {admin} and {exc}"
            raise
        return _server


def require_server() -> PostgresServer:
    """The shared server; skips the test without one, or fails it in CI."""
    try:
        return shared_server()
    except PostgresUnavailableError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@contextmanager
def fresh_database(prefix: str = "voiceauth_test", *, migrated: bool = False) -> Iterator[str]:
    """A new database on the shared server (migrated to head if asked), dropped afterwards."""
    server = require_server()
    dsn = server.create_database(prefix)
    try:
        if migrated:
            run_async(lambda: _migrate(dsn))
        yield dsn
    finally:
        server.drop_database(dsn)


async def _migrate(dsn: str) -> None:
    from voiceauth_adapters.postgres import PostgresDatabase

    async with PostgresDatabase(dsn, min_size=1, max_size=1) as database:
        await database.migrate()
