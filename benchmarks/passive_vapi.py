"""Passive verification against the on-demand path: time from a ``verify_voice`` tool call to its
answer, for a caller who spoke 2, 4 and 8 s before it.

Starts ``voiceauth serve`` (SQLite, the real model and countermeasure) the way the end-to-end
tests do, enrols LibriSpeech speaker 103 by upload, and plays calls from the local VAPI-compatible
listen server at real speed (stereo: the caller on channel 0, another voice on the assistant's
channel):

- passive: ``status-update`` (``in-progress``) at the call's start, the caller speaks for S s,
  then the ``tool-calls`` message; the answer comes from what the session already heard;
- on-demand: no ``status-update``; the tool call opens the listen socket itself, so what the
  caller said before it is lost and the answer waits for new speech (the caller goes on
  speaking, the same speaker's other clip).

For each S in ``--spoken`` (default 2, 4, 8) and each trial (a genuine caller, 103, and an
impostor, 1098, ``--trials`` times each), it reports the median answer time of both paths and
their ratio (on-demand / passive), and whether the decisions were right.

    PYTHONPATH=. python benchmarks/passive_vapi.py [--spoken 2,4,8] [--trials 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from tests.e2e.service import API_KEY, TOOL_SECRET, service_process
from tests.integration.real_model import SPEECH, speech
from voiceauth_adapters.vapi.testing import ListenCall, VapiListenServer
from voiceauth_core import Audio

EVENTS = "/api/v1/vapi/events"
VAPI = {"X-Vapi-Secret": TOOL_SECRET, "X-API-Key": API_KEY}


def _voice(names: tuple[str, ...]) -> Audio:
    return Audio.concatenate([speech(name) for name in names])


def _message(kind: str, call_id: str, url: str, **fields: object) -> dict[str, object]:
    return {
        "message": {
            "type": kind,
            "call": {"id": call_id, "monitor": {"listenUrl": url}},
            **fields,
        }
    }


def _tool_call(call_id: str, url: str, user: str) -> dict[str, object]:
    item = {
        "id": "t1",
        "type": "function",
        "function": {"name": "verify_voice", "arguments": json.dumps({"userId": user})},
    }
    return _message("tool-calls", call_id, url, toolCallList=[item])


async def _one(
    client: httpx.AsyncClient,
    calls: VapiListenServer,
    *,
    user: str,
    caller: Audio,
    spoken_s: float,
    passive: bool,
) -> tuple[float, str]:
    """(seconds from the tool call to its answer, the answer) for one call."""
    call_id = f"bench-{uuid.uuid4()}"
    call = ListenCall(caller=caller, assistant=speech("1088_a"), speed=1.0)
    url = calls.add(call)
    if passive:
        started = await client.post(
            EVENTS, json=_message("status-update", call_id, url, status="in-progress"), headers=VAPI
        )
        started.raise_for_status()
        while call.time_sent(spoken_s) is None:  # noqa: ASYNC110 - the server has no event per frame
            await asyncio.sleep(0.01)
    else:
        await asyncio.sleep(spoken_s)  # the caller speaks, but nobody listens yet
    began = time.perf_counter()
    answer = await client.post(EVENTS, json=_tool_call(call_id, url, user), headers=VAPI)
    elapsed = time.perf_counter() - began
    answer.raise_for_status()
    sentence = str(answer.json()["results"][0]["result"])
    await client.post(EVENTS, json=_message("end-of-call-report", call_id, url), headers=VAPI)
    return elapsed, sentence


async def run(spoken: list[float], trials: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="voiceauth-passive-"))
    env = {"VOICEAUTH_DATA_DIR": str(folder), "RATE_LIMIT_PER_MINUTE": "0"}
    user = str(uuid.uuid4())
    rows: list[dict[str, object]] = []
    with service_process(env, folder / "service.log") as service:
        async with (
            httpx.AsyncClient(base_url=service.url, timeout=60) as client,
            VapiListenServer() as calls,
        ):
            sample = (SPEECH / "103_a.flac").read_bytes()
            enrolled = await client.post(
                f"/api/v1/users/{user}/enrollments",
                files={"file": ("103_a.flac", sample, "audio/flac")},
                headers={"X-API-Key": API_KEY},
            )
            enrolled.raise_for_status()
            # The caller goes on speaking after the tool call (the other clip of each speaker).
            voices = {
                "genuine": _voice(("103_b", "103_b")),
                "impostor": _voice(("1098_b", "1098_a")),
            }
            expected = {"genuine": "Voice verified", "impostor": "Voice not verified"}
            for spoken_s in spoken:
                for passive in (True, False):
                    for who, caller in voices.items():
                        for _ in range(trials):
                            seconds, sentence = await _one(
                                client,
                                calls,
                                user=user,
                                caller=caller,
                                spoken_s=spoken_s,
                                passive=passive,
                            )
                            rows.append(
                                {
                                    "spoken_s": spoken_s,
                                    "path": "passive" if passive else "on-demand",
                                    "caller": who,
                                    "answer_s": round(seconds, 3),
                                    "right": sentence.startswith(expected[who]),
                                    "answer": sentence[:40],
                                }
                            )
                            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    summary: dict[str, object] = {}
    for spoken_s in spoken:
        medians = {
            path: statistics.median(
                float(r["answer_s"])  # type: ignore[arg-type]
                for r in rows
                if r["spoken_s"] == spoken_s and r["path"] == path
            )
            for path in ("passive", "on-demand")
        }
        summary[f"{spoken_s:g}s"] = {
            "passive_median_s": round(medians["passive"], 3),
            "on_demand_median_s": round(medians["on-demand"], 3),
            "ratio_on_demand_over_passive": round(medians["on-demand"] / medians["passive"], 1),
            "right": all(bool(r["right"]) for r in rows if r["spoken_s"] == spoken_s),
        }
    return {"trials_per_cell": trials, "rows": rows, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spoken", default="2,4,8", help="seconds spoken before the tool call")
    parser.add_argument("--trials", type=int, default=1, help="calls per caller and cell")
    args = parser.parse_args()
    spoken = [float(value) for value in args.spoken.split(",")]
    result = asyncio.run(run(spoken, args.trials))
    print(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    main()
