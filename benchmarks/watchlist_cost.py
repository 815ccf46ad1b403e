"""Cost of the fraud watchlist screen on the verify path: ``Verify`` with a 1,000-entry watchlist
and without one, side by side.

The service's own adapters (the configured embedding backend, Silero VAD, the calibrated policy)
without the spoof check (measured apart, ``spoof_cost.py``), an in-memory enrolment store, and
the watchlist in a real SQLite store (so each screening pays the revision read it pays in the
service) holding 1,000 entries: random voices of the model's dimension. Each speaker of the
speech fixtures is enrolled from its ``_a`` clip; its ``_b`` clip, heard through the G.711 line,
is verified with the service's capture plan, once with the screen and once without, interleaved
call by call. The cost of a call is the process's CPU time (every thread) from the start of the
verification to its decision. Reports the median CPU-seconds per decided call, the ratio, and
the screen's own time per screening.

    PYTHONPATH=. ~/.cache/voiceauth/venv/bin/python benchmarks/watchlist_cost.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tests.integration.real_model import SPEECH, speech
from voiceauth_adapters.audio.telephone import phone_channel
from voiceauth_adapters.pipeline import enroll_use_case, verify_use_case
from voiceauth_adapters.sqlite import SqliteDatabase
from voiceauth_core import Embedding, UserId, WatchlistEntry
from voiceauth_core.memory import (
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryStore,
    InMemoryUserRepository,
    ManualClock,
)
from voiceauth_web import wiring
from voiceauth_web.settings import Settings

ENTRIES = 1000


async def run(rounds: int, folder: Path) -> None:
    settings = Settings.from_env()
    model = wiring.embedding_model(settings)
    engine = wiring.engine(
        settings,
        model=model,
        detector=wiring.speech_detector(),
        policy=wiring.scoring_policy(settings, model.model_id),
        telephone=wiring.telephone_line(),
        spoof=None,
    )
    async with SqliteDatabase(folder / "voiceauth.db") as database:
        await database.migrate()
        watchlist = database.watchlist()
        rng = np.random.default_rng(7)
        when = datetime(2026, 12, 1, tzinfo=UTC)
        dimension = (await model.embed(speech(f"{_speakers()[0]}_a"))).dimension
        for index in range(ENTRIES):
            await watchlist.add(
                WatchlistEntry(
                    id=uuid.uuid4(),
                    label=f"entry {index}",
                    note="",
                    embedding=Embedding.from_vector(rng.normal(size=dimension), model.model_id),
                    created_at=when,
                    source="upload",
                )
            )
        screen = wiring.watchlist_screen(settings, watchlist, engine.policy)
        store = InMemoryStore()
        users, attempts = InMemoryUserRepository(store), InMemoryAttemptLog(store)
        clock = ManualClock()
        gate, plan = wiring.quality_gate(settings), wiring.capture_plan(settings)
        enroll = enroll_use_case(engine, users=users, clock=clock, gate=gate)
        common = {"users": users, "attempts": attempts, "clock": clock, "gate": gate, "plan": plan}
        variants = {
            "without watchlist": verify_use_case(engine, **common),  # type: ignore[arg-type]
            f"with {ENTRIES} entries": verify_use_case(engine, screen=screen, **common),  # type: ignore[arg-type]
        }
        speakers = _speakers()
        enrolled = {}
        for name in speakers:
            enrolled[name] = UserId.new()
            source = InMemoryAudioSource(speech(f"{name}_a"))
            await enroll.execute(user_id=enrolled[name], phone=None, source=source)
        calls = {name: phone_channel(speech(f"{name}_b")) for name in speakers}
        for verify in variants.values():  # warm-up: sessions, detector state, the screen's matrix
            await verify.execute(
                user_id=enrolled[speakers[0]], source=InMemoryAudioSource(calls[speakers[0]])
            )
        costs: dict[str, list[float]] = {label: [] for label in variants}
        for _ in range(rounds):
            for name in speakers:
                for label, verify in variants.items():
                    started = time.process_time()
                    await verify.execute(
                        user_id=enrolled[name], source=InMemoryAudioSource(calls[name])
                    )
                    costs[label].append(time.process_time() - started)
        probe = await model.embed(phone_channel(speech(f"{speakers[0]}_b")))
        screenings = []
        for _ in range(200):
            started = time.perf_counter()
            await screen.screen(probe)
            screenings.append(time.perf_counter() - started)
    base_label, with_label = variants
    base = statistics.median(costs[base_label])
    print(
        f"{len(speakers)} speakers x {rounds} rounds, calls over G.711, backend "
        f"{settings.inference_backend}, watchlist in SQLite"
    )
    for label, values in costs.items():
        print(
            f"  {label:20s} median {statistics.median(values):.3f} CPU-s per decided call "
            f"(p90 {statistics.quantiles(values, n=10)[-1]:.3f})"
        )
    ratio = statistics.median(costs[with_label]) / base
    print(f"  ratio with/without: {ratio:.3f}")
    print(
        f"  one screening of {ENTRIES} entries: median {1000 * statistics.median(screenings):.2f}"
        f" ms wall (p90 {1000 * statistics.quantiles(screenings, n=10)[-1]:.2f} ms)"
    )


def _speakers() -> list[str]:
    return sorted({path.stem.rsplit("_", 1)[0] for path in SPEECH.glob("*_a.flac")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(parser.parse_args().rounds, Path(folder)))


if __name__ == "__main__":
    main()
