"""CPU cost of the synthetic-speech check per decided call: ``Verify`` with and without AASIST.

The service's own adapters (the configured embedding backend, Silero VAD, AASIST on onnxruntime)
and an in-memory store. Each speaker of the speech fixtures is enrolled from its ``_a`` clip; its
``_b`` clip, heard through the G.711 line as a call would be, is verified with the service's
capture plan (a check each second, early decisions), once with the spoof check and once without,
interleaved call by call so that machine drift hits both alike. The cost of a call is the
process's CPU time (every thread: onnxruntime's and the event loop's) from the start of the
verification to its decision. Reports the median CPU-seconds per decided call, the ratio, and
the share AASIST adds.

    PYTHONPATH=. ~/.cache/voiceauth/venv/bin/python benchmarks/spoof_cost.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from tests.integration.real_model import SPEECH, speech
from voiceauth_adapters.audio.telephone import phone_channel
from voiceauth_adapters.pipeline import enroll_use_case, verify_use_case
from voiceauth_core import UserId
from voiceauth_core.memory import (
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryStore,
    InMemoryUserRepository,
    ManualClock,
)
from voiceauth_web import wiring
from voiceauth_web.settings import Settings


async def run(rounds: int) -> None:
    settings = Settings.from_env()
    model = wiring.embedding_model(settings)
    spoof = wiring.spoof_detector(settings)
    assert spoof is not None, "VOICEAUTH_SPOOF_CHECK is off"
    engine = wiring.engine(
        settings,
        model=model,
        detector=wiring.speech_detector(),
        policy=wiring.scoring_policy(settings, model.model_id),
        telephone=wiring.telephone_line(),
        spoof=spoof,
    )
    without = wiring.engine(
        settings,
        model=engine.model,
        detector=engine.detector,
        policy=engine.policy,
        telephone=engine.telephone,
        spoof=None,
    )
    store = InMemoryStore()
    users, attempts, clock = InMemoryUserRepository(store), InMemoryAttemptLog(store), ManualClock()
    gate, plan = wiring.quality_gate(settings), wiring.capture_plan(settings)
    enroll = enroll_use_case(engine, users=users, clock=clock, gate=gate)
    variants = {
        "without spoof check": verify_use_case(
            without, users=users, attempts=attempts, clock=clock, gate=gate, plan=plan
        ),
        "with spoof check": verify_use_case(
            engine, users=users, attempts=attempts, clock=clock, gate=gate, plan=plan
        ),
    }
    speakers = sorted({path.stem.rsplit("_", 1)[0] for path in SPEECH.glob("*_a.flac")})
    enrolled = {}
    for name in speakers:
        enrolled[name] = UserId.new()
        source = InMemoryAudioSource(speech(f"{name}_a"))
        await enroll.execute(user_id=enrolled[name], phone=None, source=source)
    calls = {name: phone_channel(speech(f"{name}_b")) for name in speakers}
    for verify in variants.values():  # warm-up: sessions, detector state
        await verify.execute(
            user_id=enrolled[speakers[0]], source=InMemoryAudioSource(calls[speakers[0]])
        )
    costs: dict[str, list[float]] = {label: [] for label in variants}
    decisions: dict[str, list[str]] = {label: [] for label in variants}
    speech_s: list[float] = []
    for _ in range(rounds):
        for name in speakers:
            for label, verify in variants.items():
                started = time.process_time()
                result = await verify.execute(
                    user_id=enrolled[name], source=InMemoryAudioSource(calls[name])
                )
                costs[label].append(time.process_time() - started)
                decisions[label].append(result.decision.value)
                if label == "with spoof check":
                    speech_s.append(result.speech_seconds)
    base = statistics.median(costs["without spoof check"])
    print(
        f"{len(speakers)} speakers x {rounds} rounds, calls over G.711, backend "
        f"{settings.inference_backend}, median speech per decision "
        f"{statistics.median(speech_s):.2f} s"
    )
    for label, values in costs.items():
        print(
            f"  {label:20s} median {statistics.median(values):.3f} CPU-s per decided call "
            f"(p90 {statistics.quantiles(values, n=10)[-1]:.3f}); decisions "
            f"{sorted(set(decisions[label]))}"
        )
    added = statistics.median(costs["with spoof check"]) / base - 1
    print(f"  the spoof check adds {100 * added:.0f} % CPU per decided call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
