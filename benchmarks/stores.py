"""Store throughput and latency: the embedded SQLite file and Postgres, same workload.

    python benchmarks/stores.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates a scratch database on the server (dropped afterwards) and a scratch SQLite file, then
measures: 50 concurrent samples for one user, sequential samples, attempt appends, and history
pages at depth (keyset pagination).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import numpy as np

from voiceauth_adapters.postgres import PostgresAttemptLog, PostgresDatabase, PostgresUserRepository
from voiceauth_adapters.sqlite import SqliteAttemptLog, SqliteDatabase, SqliteUserRepository
from voiceauth_core import Attempt, Decision, Embedding, EnrollmentSample, UserId

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def sample(seed: int) -> EnrollmentSample:
    vector = np.random.default_rng(seed).normal(size=192)
    return EnrollmentSample(embedding=Embedding.from_vector(vector, "bench@1"), speech_seconds=4)


def attempt(user: UserId, index: int) -> Attempt:
    return Attempt(
        id=uuid.uuid4(), user_id=user, decision=Decision.ACCEPT, score=0.9, raw_score=0.7,
        speech_seconds=3.0, channel="bench", correlation_id=f"c{index}",
        created_at=T0 + timedelta(seconds=index),
    )  # fmt: skip


async def workload(name: str, users, attempts) -> None:  # type: ignore[no-untyped-def]
    user = UserId.new()
    start = time.perf_counter()
    await asyncio.gather(
        *(users.save_sample(user, None, sample(s), now=T0, replace=False) for s in range(50))
    )
    concurrent = time.perf_counter() - start
    assert (await users.get(user)).sample_count == 50

    other = UserId.new()
    start = time.perf_counter()
    for s in range(200):
        await users.save_sample(other, None, sample(s), now=T0, replace=False)
    sequential = (time.perf_counter() - start) / 200

    start = time.perf_counter()
    for index in range(1000):
        await attempts.append(attempt(user, index))
    append = (time.perf_counter() - start) / 1000

    pages = []
    cursor = None
    for _ in range(20):
        start = time.perf_counter()
        page = await attempts.history(user, limit=50, cursor=cursor)
        pages.append(time.perf_counter() - start)
        cursor = page.next_cursor
    median = statistics.median(pages)
    parts = [
        f"{name:8s} 50 concurrent samples {concurrent * 1e3:7.1f} ms",
        f"sample {sequential * 1e3:5.2f} ms",
        f"append {append * 1e3:5.2f} ms",
        f"history page of 50 (20 pages deep) median {median * 1e3:5.2f} ms",
    ]
    print(" | ".join(parts))


async def main(admin_url: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with SqliteDatabase(Path(folder) / "bench.db") as database:
            await database.migrate()
            await workload("sqlite", SqliteUserRepository(database), SqliteAttemptLog(database))

    name = f"voiceauth_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
        async with PostgresDatabase(url, min_size=1, max_size=10) as database:
            await database.migrate()
            await workload(
                "postgres", PostgresUserRepository(database), PostgresAttemptLog(database)
            )
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parser.parse_args().admin_url))
