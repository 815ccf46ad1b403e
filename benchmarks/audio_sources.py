"""How fast the audio sources run: the VAPI listener per second of call audio, and downloads.

Everything runs against the local test servers on 127.0.0.1 (no network). The figures include
the servers' own work, so they are an upper bound on the listener's cost.

    python benchmarks/audio_sources.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import scipy.signal  # noqa: F401  # imported once here, outside the timings

from voiceauth_adapters.http import AddressPolicy, HttpDownloader
from voiceauth_adapters.http.testing import AudioFileServer, Route
from voiceauth_adapters.vapi import VapiListener
from voiceauth_adapters.vapi.testing import ListenCall, VapiListenServer
from voiceauth_core.testing import synthetic_voice


async def listener(seconds: float) -> None:
    caller = synthetic_voice(seconds=seconds, seed=1)
    assistant = synthetic_voice(f0=210, formants=(400, 2000, 2900), seconds=seconds, seed=2)
    async with (
        VapiListenServer() as server,
        VapiListener(allow_private_networks=True, max_audio_s=seconds + 1) as client,
    ):
        for rate in (16_000, 8_000, 48_000, 44_100):
            call = ListenCall(caller=caller, assistant=assistant, sample_rate=rate)
            url = server.add(call)
            wall, cpu = time.perf_counter(), time.process_time()
            heard = await client.source(url).fetch()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"listener {rate:>5} Hz stereo: {heard.duration:.0f} s of audio in {wall:.2f} s "
                f"({heard.duration / wall:.0f}x real time), "
                f"CPU {1000 * cpu / heard.duration:.2f} ms per audio second (server included)"
            )


async def downloads(megabytes: int) -> None:
    body = b"\1" * (megabytes * 1024 * 1024)
    async with AudioFileServer() as server:
        url = server.add("/big.wav", Route(body=body))
        policy = AddressPolicy.build(allowed_networks=["127.0.0.1/32"])
        async with HttpDownloader(policy=policy, max_bytes=len(body)) as downloader:
            wall = time.perf_counter()
            rounds = 5
            for _ in range(rounds):
                await downloader.fetch(url)
            wall = (time.perf_counter() - wall) / rounds
    print(
        f"download {megabytes} MB from loopback: {wall * 1000:.0f} ms ({megabytes / wall:.0f} MB/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="call length")
    parser.add_argument("--megabytes", type=int, default=20, help="download size")
    args = parser.parse_args()
    asyncio.run(listener(args.seconds))
    asyncio.run(downloads(args.megabytes))


if __name__ == "__main__":
    main()
