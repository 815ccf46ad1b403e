"""Does micro-batching raise embedding throughput on this machine? Batches against single calls.

The service embeds each request on its own. Batching concurrent requests pays only if one call
on ``[B, ...]`` costs less than ``B`` calls on ``[1, ...]``. This measures exactly that, in one
process, on real LibriSpeech speech cut to equal lengths (the best case for batching: no padding
and no relative lengths), alternating which side goes first:

- onnx: the exported network on ``[B, frames, 80]`` features against ``B`` runs on ``[1, ...]``;
- speechbrain: ``SpeechBrainEcapa.embed_batch`` of ``B`` clips against ``B`` single calls.

    python benchmarks/batching.py [CORPUS] [--sizes 2,4,8] [--seconds 5] [--repeats 3]

Prints, per side and batch size, the seconds of both and the ratio singles / batch: above 1
means batching wins.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed import DEFAULT_CORPUS, verified_model_dir
from embed_backends import clips_of

from voiceauth_adapters.onnx import OnnxEcapa
from voiceauth_adapters.speechbrain import SpeechBrainEcapa


def timed(work: Callable[[int], object], size: int) -> float:
    began = time.perf_counter()
    work(size)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--sizes", default="2,4,8", help="batch sizes")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of every clip")
    parser.add_argument("--threads", type=int, default=2, help="threads of both backends")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per size and side")
    args = parser.parse_args()
    model_dir = verified_model_dir()
    onnx = OnnxEcapa.load(model_dir, export_dir=Path(tempfile.mkdtemp()), threads=args.threads)
    speechbrain = SpeechBrainEcapa.load(model_dir, threads=args.threads)
    session = onnx._session  # the network alone, on a [B, ...] tensor

    sizes = [int(value) for value in args.sizes.split(",")]
    clips = clips_of(args.corpus, args.seconds, max(sizes))
    features = [onnx.features(clip) for clip in clips]
    session.run(["embedding"], {"features": features[0]})  # warm-up
    speechbrain.embed_batch(clips[:1])
    print(
        f"{args.seconds:g} s clips of LibriSpeech speech, {args.threads} threads, "
        f"{args.repeats} runs; ratio = singles / one batch (above 1: batching wins)"
    )
    print(f"{'side':<12}{'batch':>6}{'singles s':>11}{'batch s':>9}{'ratio':>7}")

    def onnx_singles(size: int) -> object:
        return [session.run(["embedding"], {"features": item}) for item in features[:size]]

    def onnx_batch(size: int) -> object:
        return session.run(["embedding"], {"features": np.concatenate(features[:size])})

    def speechbrain_singles(size: int) -> object:
        return [speechbrain.embed_batch([clip]) for clip in clips[:size]]

    def speechbrain_batch(size: int) -> object:
        return speechbrain.embed_batch(clips[:size])

    sides = {
        "onnx": (onnx_singles, onnx_batch),
        "speechbrain": (speechbrain_singles, speechbrain_batch),
    }
    for size in sizes:
        for name, (singles, batch) in sides.items():
            apart = together = 0.0
            for repeat in range(args.repeats):
                if repeat % 2:
                    together += timed(batch, size)
                    apart += timed(singles, size)
                else:
                    apart += timed(singles, size)
                    together += timed(batch, size)
            print(
                f"{name:<12}{size:>6}{apart / args.repeats:>11.3f}"
                f"{together / args.repeats:>9.3f}{apart / together:>7.2f}"
            )


if __name__ == "__main__":
    main()
