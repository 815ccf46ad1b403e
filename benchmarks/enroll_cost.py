"""Cost of channel-matched enrolment: ``Enroll`` with and without the phone-band voiceprint.

The service's own adapters (the configured inference backend, Silero, the G.711 line) and an
in-memory store, the two variants interleaved sample by sample in one process over the speech
fixtures, so machine drift hits both alike. Reports the median time per enrolment sample and
the ratio.

    PYTHONPATH=. ~/.cache/voiceauth/venv/bin/python benchmarks/enroll_cost.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from tests.integration.real_model import SPEECH, speech
from voiceauth_adapters.audio import G711Line
from voiceauth_core import Enroll, QualityGate, UserId
from voiceauth_core.testing import InMemoryAudioSource, InMemoryStore, InMemoryUserRepository
from voiceauth_web.containers import build_container
from voiceauth_web.settings import Settings


async def run(rounds: int) -> None:
    container = build_container(Settings.from_env())
    model = container.adapters.raw_model()
    detector = container.adapters.detector()
    clock = container.adapters.clock()
    gate = QualityGate()
    users = InMemoryUserRepository(InMemoryStore())
    plain = Enroll(model=model, detector=detector, users=users, clock=clock, gate=gate)
    twin = Enroll(
        model=model, detector=detector, users=users, clock=clock, gate=gate, telephone=G711Line()
    )
    clips = [speech(path.stem) for path in sorted(SPEECH.glob("*.flac"))]
    for clip in clips[:2]:  # warm-up: model sessions, detector state
        await twin.execute(user_id=UserId.new(), phone=None, source=InMemoryAudioSource(clip))
    times: dict[str, list[float]] = {"recorded only": [], "with phone-band": []}
    for _ in range(rounds):
        for clip in clips:
            for name, enroll in (("recorded only", plain), ("with phone-band", twin)):
                started = time.perf_counter()
                await enroll.execute(
                    user_id=UserId.new(), phone=None, source=InMemoryAudioSource(clip)
                )
                times[name].append(time.perf_counter() - started)
    seconds = statistics.median(clip.duration for clip in clips)
    print(f"{len(clips)} clips (median {seconds:.1f} s of audio) x {rounds} rounds")
    for name, values in times.items():
        print(f"{name:>16}: median {1e3 * statistics.median(values):6.1f} ms per sample")
    ratio = statistics.median(times["with phone-band"]) / statistics.median(times["recorded only"])
    print(f"with phone-band / recorded only: {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
