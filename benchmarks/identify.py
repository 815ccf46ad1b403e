"""Time and memory of one identification at 10k, 100k and 1M enrolled voiceprints.

Side by side, in one run, for each gallery size:

- **brute force**: the gallery as a Python list of voiceprints (each user's centroid, as
  ``Enrollment.centroid`` gives it), one cosine per user in a loop, then the best 20 sorted out;
  at 10k also the store itself (SQLite, every enrolment read page by page, as a service without
  an index would have to);
- **index**: the service's ``MatrixVoiceprintIndex`` (one float32 matrix, one matrix-vector
  product, ``argpartition``).

Both then rescore the same 20-voice shortlist with the shipped calibrated policy, as ``Identify``
does; that cost is the same for both and shown apart. The gallery is the shipped cohort's real
ECAPA voiceprints (LibriSpeech speakers, both channels) plus random unit vectors up to the size;
each probe is a real voiceprint plus noise, and both paths must find the same top 20.

    ~/.cache/voiceauth/venv/bin/python benchmarks/identify.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from voiceauth_adapters.cohort import load_calibrated_policy, read_parameters
from voiceauth_adapters.index import MatrixVoiceprintIndex
from voiceauth_adapters.sqlite import SqliteDatabase
from voiceauth_core import Embedding, Enrollment, EnrollmentSample, UserId
from voiceauth_core.use_cases import sync_index

SHORTLIST = 20
PROBES = 5
T0 = datetime(2026, 12, 2, tzinfo=UTC)


def rss_mb() -> float:
    """The process's resident memory now, in MB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def gallery(size: int, real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``size`` unit rows: the real voiceprints first, random unit vectors after."""
    rows = np.empty((size, real.shape[1]), dtype=np.float32)
    count = min(size, real.shape[0])
    rows[:count] = real[:count]
    for start in range(count, size, 100_000):
        stop = min(size, start + 100_000)
        block = rng.standard_normal((stop - start, real.shape[1]), dtype=np.float32)
        rows[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return rows


def brute_force(
    voiceprints: list[np.ndarray], ids: list[uuid.UUID], probe: np.ndarray
) -> list[uuid.UUID]:
    """One cosine per user in a Python loop, then the best ``SHORTLIST``."""
    scores = [float(np.dot(v, probe)) for v in voiceprints]
    best = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:SHORTLIST]
    return [ids[i] for i in best]


async def store_scan(users: object, probe: Embedding) -> list[uuid.UUID]:
    """Every enrolment read from the store page by page, scored, the best ``SHORTLIST`` kept."""
    scored: list[tuple[float, uuid.UUID]] = []
    cursor = None
    while True:
        page = await users.list(limit=500, cursor=cursor)  # type: ignore[attr-defined]
        scored += [(e.centroid.cosine(probe), e.user_id.value) for e in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    scored.sort(reverse=True)
    return [value for _, value in scored[:SHORTLIST]]


async def measure(size: int, real: np.ndarray, model_id: str, policy: object) -> dict[str, float]:
    rng = np.random.default_rng(size)
    rows = gallery(size, real, rng)
    ids = [uuid.UUID(int=i + 1) for i in range(size)]
    picks = rng.choice(min(size, real.shape[0]), size=PROBES, replace=False)
    probes = []
    for pick in picks:
        noisy = rows[pick] + 0.05 * rng.standard_normal(rows.shape[1])
        probes.append(Embedding.from_vector(noisy, model_id))

    gc.collect()
    before = rss_mb()
    voiceprints = [row.astype(np.float64) for row in rows]  # as Embedding.vector holds them
    list_mb = rss_mb() - before
    gc.collect()
    before = rss_mb()
    index = MatrixVoiceprintIndex(model_id)
    await index.extend(ids, rows)
    index_mb = rss_mb() - before
    del rows
    gc.collect()

    rounds = 3 if size >= 1_000_000 else 5
    brute_s, index_s, peak_mb = [], [], 0.0
    await index.search(probes[0], limit=SHORTLIST)  # warm-up
    for probe in probes:
        expected = brute_force(voiceprints, ids, probe.vector)
        hits = await index.search(probe, limit=SHORTLIST)
        assert [h.user_id.value for h in hits][:5] == expected[:5], "the two paths disagree"
        started = time.perf_counter()
        brute_force(voiceprints, ids, probe.vector)
        brute_s.append(time.perf_counter() - started)
        started_mb = rss_mb()
        started = time.perf_counter()
        for _ in range(rounds):
            await index.search(probe, limit=SHORTLIST)
        index_s.append((time.perf_counter() - started) / rounds)
        peak_mb = max(peak_mb, rss_mb() - started_mb)

    # The shortlist's rescoring, the same for both paths (Identify scores 20 enrolments).
    enrollments = [
        Enrollment.start(
            user_id=UserId(value=ids[i]),
            phone=None,
            sample=EnrollmentSample(
                embedding=Embedding.from_vector(voiceprints[i], model_id), speech_seconds=10
            ),
            now=T0,
        )
        for i in range(SHORTLIST)
    ]
    policy.score(enrollments[0], probes[0], speech_seconds=8.0)  # type: ignore[attr-defined]
    started = time.perf_counter()
    for enrollment in enrollments:
        policy.score(enrollment, probes[0], speech_seconds=8.0)  # type: ignore[attr-defined]
    rescore_s = time.perf_counter() - started

    result = {
        "size": size,
        "brute_ms": 1000 * statistics.median(brute_s),
        "index_ms": 1000 * statistics.median(index_s),
        "rescore_ms": 1000 * rescore_s,
        "list_mb": list_mb,
        "index_mb": index_mb,
        "index_matrix_mb": index.nbytes() / 1e6,
        "search_extra_mb": peak_mb,
    }
    if size <= 10_000:
        result["store_ms"] = await scan_store(voiceprints, ids, model_id, probes[0])
    del voiceprints, index
    gc.collect()
    return result


async def scan_store(
    voiceprints: list[np.ndarray], ids: list[uuid.UUID], model_id: str, probe: Embedding
) -> float:
    """Milliseconds to identify by scanning a SQLite store of the same voiceprints."""
    with tempfile.TemporaryDirectory() as folder:
        database = SqliteDatabase(Path(folder) / "bench.db")
        await database.open()
        try:
            await database.migrate()
            users, _ = database.stores(None)
            for value, vector in zip(ids, voiceprints, strict=True):
                sample = EnrollmentSample(
                    embedding=Embedding.from_vector(vector, model_id), speech_seconds=10
                )
                await users.save_sample(UserId(value=value), None, sample, now=T0, replace=False)
            started = time.perf_counter()
            await store_scan(users, probe)
            scan_ms = 1000 * (time.perf_counter() - started)
            index = MatrixVoiceprintIndex(model_id)
            started = time.perf_counter()
            await sync_index(users, index)
            filled = time.perf_counter() - started
            print(f"  (filling the index from this store at start: {filled:.1f} s)")
            return scan_ms
        finally:
            await database.close()


async def main(sizes: list[int]) -> None:
    model_id = read_parameters().model_id
    policy = load_calibrated_policy(model_id=model_id)
    real = policy.asnorm.cohort.embeddings.astype(np.float32)
    print(f"real voiceprints: {real.shape[0]} (shipped cohort), dimension {real.shape[1]}")
    print(
        "| voiceprints | brute force (Python list) | store scan (SQLite) | index | speed-up | "
        "list RSS | index RSS | extra RSS per search | shortlist rescoring |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        row = await measure(size, real, model_id, policy)
        store = f"{row['store_ms']:.0f} ms" if "store_ms" in row else "-"
        print(
            f"| {size:,} | {row['brute_ms']:.1f} ms | {store} | {row['index_ms']:.2f} ms | "
            f"{row['brute_ms'] / row['index_ms']:.0f}x | {row['list_mb']:.0f} MB | "
            f"{row['index_mb']:.0f} MB ({row['index_matrix_mb']:.0f} MB matrix) | "
            f"{row['search_extra_mb']:.1f} MB | {row['rescore_ms']:.1f} ms |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    chosen = [int(part) for part in parser.parse_args().sizes.split(",")]
    asyncio.run(main(chosen))
