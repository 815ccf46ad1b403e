"""Where a live call's CPU goes: decoding, speech detection, features, network, scoring, spoof.

One process drives the service's own parts (``wiring``: the real model on the default backend,
Silero, AASIST in the same worker pool, the scoring policy; stores in memory) over the local
VAPI-compatible listen server and the real listener: the 8 caller/claim pairs of
``benchmarks/live_capacity.py``, ``--calls`` at once at real speed, ``--rounds`` times. Each
stage's function is timed with ``time.thread_time`` on the thread it runs on (every stage runs
on one thread: one inference thread, as the service runs in the benchmarks), and the stages'
CPU is divided by the calls decided. "other" is the rest of the process's CPU: the event loop,
the WebSocket on both sides, the capture's concatenation, the test server's own pacing.

    PYTHONPATH=. python benchmarks/live_profile.py [--calls 8] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from benchmarks.live_capacity import Pairs
from tests.integration.real_model import cache_dir
from voiceauth_adapters.antispoof.detector import AasistDetector
from voiceauth_adapters.onnx.ecapa import OnnxEcapa
from voiceauth_adapters.vad.silero import SileroSpeechDetector
from voiceauth_adapters.vapi.listener import VapiListenSource
from voiceauth_adapters.vapi.testing import ListenCall, VapiListenServer
from voiceauth_core import UserId
from voiceauth_core.clock import SystemClock
from voiceauth_core.memory import InMemoryAttemptLog, InMemoryStore, InMemoryUserRepository
from voiceauth_core.testing import InMemoryAudioSource

SPENT: defaultdict[str, float] = defaultdict(float)
_LOCK = threading.Lock()


def timed(stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with the CPU of the thread it runs on added to ``stage``."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent = time.thread_time() - began
            with _LOCK:
                SPENT[stage] += spent

    return wrapper


def instrument() -> None:
    """Time each stage where it runs (methods of the adapter classes, for this process only)."""
    VapiListenSource._decode = timed("decoding", VapiListenSource._decode)  # type: ignore[method-assign]
    SileroSpeechDetector.speech_sync = timed("speech detection", SileroSpeechDetector.speech_sync)  # type: ignore[method-assign]
    features = OnnxEcapa.features
    OnnxEcapa.features = timed("features", features)  # type: ignore[method-assign]
    OnnxEcapa.embed_batch = timed("features+network", OnnxEcapa.embed_batch)  # type: ignore[method-assign]
    AasistDetector._score_windows = timed("spoof check", AasistDetector._score_windows)  # type: ignore[method-assign]


async def run(calls: int, rounds: int) -> dict[str, object]:
    os.environ.setdefault("VOICEAUTH_CACHE_DIR", str(cache_dir()))
    os.environ["VOICEAUTH_INFERENCE_THREADS"] = "1"
    os.environ["VOICEAUTH_ALLOW_PRIVATE_NETWORKS"] = "1"
    from voiceauth_web import wiring  # noqa: PLC0415 - after the environment is set
    from voiceauth_web.settings import Settings  # noqa: PLC0415

    settings = Settings.from_env()
    model = wiring.embedding_model(settings)
    spoof = wiring.spoof_detector(settings, workers=model.worker_pool)
    policy = wiring.scoring_policy(settings, model.model_id)
    type(policy).score = timed("scoring", type(policy).score)  # type: ignore[method-assign]
    engine = wiring.engine(
        settings,
        model=model,
        detector=wiring.speech_detector(),
        policy=policy,
        telephone=wiring.telephone_line(),
        spoof=spoof,
    )
    store = InMemoryStore()
    users, attempts = InMemoryUserRepository(store), InMemoryAttemptLog(store)
    clock = SystemClock()
    enroll = wiring.enroll(settings, engine, users=users, clock=clock)
    verify = wiring.verify(settings, engine, users=users, attempts=attempts, clock=clock)
    pairs = Pairs(5.0)
    for name, audio in pairs.enrol.items():
        user = UserId.new()
        await enroll.execute(user_id=user, phone=None, source=InMemoryAudioSource(audio))
        pairs.users[name] = str(user)
    listener = wiring.listener(settings)
    decisions: list[str] = []
    async with listener, VapiListenServer() as server:

        async def one(index: int) -> None:
            _, caller, claim = pairs.pairs[index % len(pairs.pairs)]
            url = server.add(ListenCall(caller=pairs.calls[caller], speed=1.0))
            result = await verify.execute(
                source=listener.source(url), user_id=UserId.parse(pairs.users[claim])
            )
            decisions.append(result.decision.value)

        await one(0)  # warm-up, not counted
        instrument()
        SPENT.clear()
        decisions.clear()
        began_cpu, began = time.process_time(), time.perf_counter()
        for _ in range(rounds):
            await asyncio.gather(*(one(i) for i in range(calls)))
        total = time.process_time() - began_cpu
        wall = time.perf_counter() - began
    model.close()
    decided = len(decisions)
    stages = dict(SPENT)
    stages["network"] = stages.pop("features+network", 0.0) - stages.get("features", 0.0)
    stages["other"] = total - sum(stages.values())
    per_call = {stage: round(seconds / decided, 4) for stage, seconds in stages.items()}
    return {
        "calls_at_once": calls,
        "rounds": rounds,
        "decided": decided,
        "decisions": {d: decisions.count(d) for d in sorted(set(decisions))},
        "wall_s": round(wall, 1),
        "cpu_s_per_call": round(total / decided, 3),
        "cpu_s_per_call_by_stage": per_call,
        "share": {stage: f"{100 * seconds / total:.0f} %" for stage, seconds in stages.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=8, help="calls at once")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.calls, args.rounds)), indent=2))


if __name__ == "__main__":
    main()
