"""Live capacity: N concurrent live calls verified through the HTTP API of a running service.

Starts ``voiceauth serve`` (embedded SQLite, the real model and countermeasure, the default
backend) the way the end-to-end tests do, enrols four LibriSpeech speakers of
``../shared/corpora`` (the first 8 s of one recording each), and plays calls from the local
VAPI-compatible listen server at real speed: each call is the next ``--seconds-of-speech`` of a
speaker's recording (never heard at enrolment), claiming either that speaker's account (genuine)
or the next speaker's (impostor); 8 caller/claim pairs. Each call is one ``verify-password``
request with the call's ``listenUrl``, timed from the request to its answer.

1. the single-call reference: each pair once, one call at a time (the ``N = 1`` row, and the
   decision each pair is expected to get);
2. for each N in ``--calls`` above 1: N calls started at once (pair ``i % 8``); p50/p95 time to
   decision, decisions equal to the pair's single-call decision, errors, CPU-seconds of the
   service process per decided call, and the p99 of a ``/healthz`` probe (a process of its own,
   every 20 ms) during the wave;
3. whole recordings: verifications per second of uploads of the same calls (``--clients`` at
   once for ``--seconds``) against plain SpeechBrain ``encode_batch`` run once per recording in
   this process, one after the other, in the same run.

    PYTHONPATH=. python benchmarks/live_capacity.py [--calls 1,16,50,100] [--seconds-of-speech 5]
        [--config defaults --config tuned:VOICEAUTH_INFERENCE_THREADS=1,VOICEAUTH_INFERENCE_NICE=10]

Each ``--config`` starts its own service with those settings, one after the other in the same
run, so configurations are compared side by side.

The CPU breakdown by stage is ``benchmarks/live_profile.py`` (in one process, per thread).
The machine is shared: run ``--calls 100`` once, and read the figures with the load in mind.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path

import httpx
import soundfile as sf

from benchmarks.latency import PROBE, percentile
from tests.e2e.service import API_KEY, service_process
from voiceauth_adapters.vapi.testing import ListenCall, VapiListenServer
from voiceauth_core import Audio

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "librispeech-train-clean-100-sample"
#: Speakers with recordings of 14 s or more (8 s to enrol, the rest to call with).
SPEAKERS = ("103-1240-0000", "1098-133695-0000", "1069-133699-0000", "1116-132847-0000")
ENROL_S = 8.0
KEY = {"X-API-Key": API_KEY}


def recording(name: str) -> Audio:
    samples, rate = sf.read(CORPUS / f"{name}.flac", dtype="float32")
    assert rate == 16000, rate
    return Audio(samples=samples, sample_rate=rate)


def wav(audio: Audio) -> bytes:
    out = io.BytesIO()
    sf.write(out, audio.samples, audio.sample_rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and all its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Pairs:
    """The enrolled speakers, their calls, and the 8 caller/claim pairs."""

    def __init__(self, seconds_of_speech: float) -> None:
        self.enrol: dict[str, Audio] = {}
        self.calls: dict[str, Audio] = {}
        for name in SPEAKERS:
            audio = recording(name)
            self.enrol[name] = audio.slice(0.0, ENROL_S)
            self.calls[name] = audio.slice(ENROL_S, ENROL_S + seconds_of_speech)
        self.users: dict[str, str] = {}
        others = {name: SPEAKERS[(i + 1) % len(SPEAKERS)] for i, name in enumerate(SPEAKERS)}
        #: (label, caller, claimed speaker)
        self.pairs = [
            (f"{name.split('-')[0]}->{claim.split('-')[0]}", name, claim)
            for name in SPEAKERS
            for claim in (name, others[name])
        ]


async def enrol(client: httpx.AsyncClient, pairs: Pairs) -> None:
    for name, audio in pairs.enrol.items():
        user = str(uuid.uuid4())
        answer = await client.post(
            f"/api/v1/users/{user}/enrollments",
            files={"file": (f"{name}.wav", wav(audio), "audio/wav")},
            headers=KEY,
        )
        answer.raise_for_status()
        pairs.users[name] = user


async def call(
    client: httpx.AsyncClient, server: VapiListenServer, pairs: Pairs, index: int
) -> tuple[str, float, str]:
    """(pair label, seconds from the request to its answer, the decision or the error)."""
    label, caller, claim = pairs.pairs[index % len(pairs.pairs)]
    url = server.add(ListenCall(caller=pairs.calls[caller], speed=1.0))
    began = time.perf_counter()
    try:
        answer = await client.post(
            "/api/v1/verify-password",
            json={"userId": pairs.users[claim], "listenUrl": url},
            headers=KEY,
        )
    except httpx.HTTPError as exc:
        return label, time.perf_counter() - began, type(exc).__name__
    elapsed = time.perf_counter() - began
    if answer.status_code != 200:
        return label, elapsed, f"HTTP {answer.status_code}"
    return label, elapsed, str(answer.json()["decision"])


async def probe(url: str, seconds: float) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROBE, url, str(seconds), stdout=asyncio.subprocess.PIPE
    )


async def measured(
    client: httpx.AsyncClient, pid: int, calls: Awaitable[list[tuple[str, float, str]]]
) -> dict[str, object]:
    """``calls`` awaited with the service's CPU and a ``/healthz`` probe measured around them."""
    health = await probe(str(client.base_url), 600)
    cpu = cpu_seconds(pid)
    began = time.perf_counter()
    results = await calls
    wall = time.perf_counter() - began
    spent = cpu_seconds(pid) - cpu
    health.terminate()
    out, _ = await health.communicate()
    healthz = [float(line) for line in out.decode().split()]
    return {"results": results, "cpu_s": spent, "wall_s": wall, "healthz_ms": healthz}


async def one_by_one(
    client: httpx.AsyncClient, server: VapiListenServer, pairs: Pairs
) -> list[tuple[str, float, str]]:
    return [await call(client, server, pairs, i) for i in range(len(pairs.pairs))]


async def at_once(
    client: httpx.AsyncClient, server: VapiListenServer, pairs: Pairs, n: int
) -> list[tuple[str, float, str]]:
    return list(await asyncio.gather(*(call(client, server, pairs, i) for i in range(n))))


def row(n: int, measured: dict[str, object], expected: dict[str, str]) -> dict[str, object]:
    results: list[tuple[str, float, str]] = measured["results"]  # type: ignore[assignment]
    times = [seconds for _, seconds, _ in results]
    decided = [(label, d) for label, _, d in results if d.islower()]  # not "HTTP 503", "...Error"
    same = sum(1 for label, decision in decided if expected.get(label) == decision)
    genuine = [d for label, _, d in results if label.split("->")[0] == label.split("->")[1]]
    healthz: list[float] = measured["healthz_ms"]  # type: ignore[assignment]
    n = len(results)
    return {
        "calls": n,
        "p50_s": round(percentile(times, 50), 2),
        "p95_s": round(percentile(times, 95), 2),
        "max_s": round(max(times), 2),
        "decisions": dict(Counter(d for _, _, d in results)),
        "same_as_single_call": f"{same}/{n}",
        "genuine_accepted": f"{sum(d == 'accept' for d in genuine)}/{len(genuine)}",
        "errors": n - len(decided),
        "cpu_s_per_decided_call": round(float(measured["cpu_s"]) / max(1, len(decided)), 3),  # type: ignore[arg-type]
        "wall_s": round(float(measured["wall_s"]), 1),  # type: ignore[arg-type]
        "healthz_p99_ms": round(percentile(healthz, 99), 1) if healthz else None,
        "healthz_samples": len(healthz),
    }


async def uploads(
    client: httpx.AsyncClient, pairs: Pairs, clients: int, seconds: float
) -> tuple[int, int]:
    """(verifications answered 200, 503s) of the genuine calls uploaded whole."""
    bodies = [(pairs.users[name], wav(audio)) for name, audio in pairs.calls.items()]
    done = busy = 0
    stop = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal done, busy
        while time.perf_counter() < stop:
            user, body = bodies[index % len(bodies)]
            index += clients
            answer = await client.post(
                f"/api/v1/users/{user}/verifications",
                files={"file": ("call.wav", body, "audio/wav")},
                headers=KEY,
            )
            if answer.status_code == 503:
                busy += 1
                continue
            answer.raise_for_status()
            done += 1

    await asyncio.gather(*(worker(i) for i in range(clients)))
    return done, busy


def plain_speechbrain_rate(pairs: Pairs, seconds: float) -> float:
    """Recordings per second embedded by plain SpeechBrain ``encode_batch``, one at a time."""
    import torch  # noqa: PLC0415 - the baseline only

    from benchmarks.embed import plain_speechbrain, verified_model_dir  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        classifier = plain_speechbrain(verified_model_dir(), Path(folder) / "sb")
        signals = [torch.from_numpy(a.samples)[None] for a in pairs.calls.values()]
        classifier.encode_batch(signals[0])  # warm-up
        count, stop = 0, time.perf_counter() + seconds
        began = time.perf_counter()
        while time.perf_counter() < stop:
            classifier.encode_batch(signals[count % len(signals)])
            count += 1
        return count / (time.perf_counter() - began)


async def run_config(
    args: argparse.Namespace, pairs: Pairs, extra: dict[str, str]
) -> dict[str, object]:
    """The waves and the uploads against one service, started with ``extra`` settings."""
    folder = Path(tempfile.mkdtemp(prefix="voiceauth-capacity-"))
    env = {"VOICEAUTH_DATA_DIR": str(folder), "RATE_LIMIT_PER_MINUTE": "0", **extra}
    rows: list[dict[str, object]] = []
    limits = httpx.Limits(max_connections=max(args.calls) + 10)
    with service_process(env, folder / "service.log") as service:
        pid = service.process.pid
        async with (
            httpx.AsyncClient(base_url=service.url, timeout=300, limits=limits) as client,
            VapiListenServer() as server,
        ):
            await enrol(client, pairs)
            await call(client, server, pairs, 0)  # warm-up, not counted
            # The single-call reference: every pair alone, one after the other.
            single = await measured(client, pid, one_by_one(client, server, pairs))
            reference: list[tuple[str, float, str]] = single["results"]  # type: ignore[assignment]
            expected = {label: decision for label, _, decision in reference}
            rows.append(row(1, single, expected))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            for n in (n for n in args.calls if n > 1):
                await asyncio.sleep(2.0)  # the previous wave's sockets and checks settle
                wave = await measured(client, pid, at_once(client, server, pairs, n))
                rows.append(row(n, wave, expected))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            recordings: dict[str, object] = {}
            if args.upload_seconds > 0:
                done, busy = await uploads(client, pairs, args.clients, args.upload_seconds)
                recordings = {
                    "service_verifications_per_s": round(done / args.upload_seconds, 2),
                    "service_503": busy,
                }
    return {
        "settings": extra,
        "single_call_decisions": expected,
        "rows": rows,
        "whole_recordings": recordings,
        "single_call_p95_s": rows[0]["p95_s"],
        "p95_minus_single": {
            str(r["calls"]): round(float(r["p95_s"]) - float(rows[0]["p95_s"]), 2)  # type: ignore[arg-type]
            for r in rows[1:]
        },
        "median_single_s": round(statistics.median(t for _, t, _ in reference), 2),
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    """Every ``--config`` in turn, then plain SpeechBrain, in one run."""
    pairs = Pairs(args.seconds_of_speech)
    configs: dict[str, dict[str, object]] = {}
    for name, extra in args.configs:
        print(f"== {name}: {extra}", file=sys.stderr, flush=True)
        configs[name] = await run_config(args, pairs, extra)
    baseline = 0.0
    if args.upload_seconds > 0:
        baseline = plain_speechbrain_rate(pairs, args.upload_seconds)
        for result in configs.values():
            recordings = result["whole_recordings"]
            assert isinstance(recordings, dict)
            recordings["plain_speechbrain_encode_batch_per_s"] = round(baseline, 2)
            recordings["ratio_service_over_plain"] = round(
                float(recordings["service_verifications_per_s"]) / baseline, 2
            )
    return {"pairs": [label for label, _, _ in pairs.pairs], "configs": configs}


def _config(text: str) -> tuple[str, dict[str, str]]:
    """``name`` or ``name:KEY=VALUE,KEY=VALUE``: the service's extra settings."""
    name, _, rest = text.partition(":")
    extra = dict(item.split("=", 1) for item in rest.split(",") if item)
    return name, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", default="1,16,50,100", help="concurrent calls per wave")
    parser.add_argument("--seconds-of-speech", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=2, help="upload clients (whole recordings)")
    parser.add_argument(
        "--upload-seconds", type=float, default=20.0, help="each side of the whole-recording "
        "comparison (0: skip it)"
    )  # fmt: skip
    parser.add_argument(
        "--config",
        action="append",
        type=_config,
        dest="configs",
        metavar="NAME[:KEY=VALUE,...]",
        help="a service configuration to measure (repeatable; each in turn, in this run); "
        "default: the defaults only",
    )
    args = parser.parse_args()
    args.calls = [int(value) for value in args.calls.split(",")]
    args.configs = args.configs or [("defaults", {})]
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
