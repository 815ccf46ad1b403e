"""Embedding real-time factor per backend for 3 s, 10 s and 30 s of real speech, in one process.

RTF = compute seconds per second of audio (lower is faster). On the same LibriSpeech audio, each
length a clip made by joining utterances end to end, rotating which side goes first:

- plain SpeechBrain: ``EncoderClassifier.encode_batch(signal)`` loaded the model card's way;
- speechbrain adapter: ``SpeechBrainEcapa.embed_batch`` (the ``VOICEAUTH_INFERENCE=speechbrain``
  compute);
- onnx adapter: ``OnnxEcapa.embed_batch`` (``VOICEAUTH_INFERENCE=onnx``: SpeechBrain's features
  in torch, the exported network in onnxruntime), at each thread count in ``--onnx-threads``;
- onnx-int8 adapter: ``OnnxEcapa.load(int8=True)`` (``VOICEAUTH_INFERENCE=onnx-int8``: the same
  with the convolutions in 8 bits), at the largest thread count.

    python benchmarks/embed_backends.py [CORPUS] [--threads T] [--onnx-threads 1,2] [--repeats R]

Prints the RTF table, the speed-up over plain SpeechBrain per length, the smallest cosine
between each side's embedding and plain SpeechBrain's, and the arithmetic rate it reached on
10 s clips (the network's 3.8 GFLOP per second of audio over its RTF: how close to the CPU's
peak it runs). Other load on the machine shows in the
absolute figures; the ratios, measured side by side, are the comparison.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed import DEFAULT_CORPUS, plain_speechbrain, verified_model_dir

from voiceauth_adapters.onnx import OnnxEcapa
from voiceauth_adapters.speechbrain import SpeechBrainEcapa

LENGTHS = (3.0, 10.0, 30.0)
#: The network's arithmetic per second of audio: 2 x the multiply-adds of its convolutions at
#: 100 feature frames per second (about 37.6 M per frame, 3/4 of them in the 1x1 convolutions).
GFLOP_PER_AUDIO_SECOND = 3.8


def clips_of(corpus: Path, seconds: float, count: int) -> list[np.ndarray]:
    """``count`` clips of exactly ``seconds`` of speech, each joined from consecutive files."""
    files = sorted(corpus.glob("*.flac"))
    clips: list[np.ndarray] = []
    index = 0
    while len(clips) < count:
        parts, total = [], 0
        while total < seconds * 16000:
            samples, rate = sf.read(files[index % len(files)], dtype="float32")
            assert rate == 16000
            parts.append(samples)
            total += len(samples)
            index += 1
        clips.append(np.ascontiguousarray(np.concatenate(parts)[: int(seconds * 16000)]))
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (both torch sides)")
    parser.add_argument("--onnx-threads", default="1,2", help="onnxruntime thread counts to try")
    parser.add_argument("--clips", type=int, default=3, help="clips per length")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per clip and side")
    args = parser.parse_args()
    import onnxruntime  # noqa: PLC0415
    import torch  # noqa: PLC0415

    model_dir = verified_model_dir()
    adapter = SpeechBrainEcapa.load(model_dir, threads=args.threads)
    export = Path(tempfile.mkdtemp()) / "onnx"
    sides: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    with tempfile.TemporaryDirectory() as folder:
        plain = plain_speechbrain(model_dir, Path(folder) / "spkrec-ecapa-voxceleb")
    torch.set_num_threads(args.threads)

    def run_plain(clip: np.ndarray) -> np.ndarray:
        return plain.encode_batch(torch.from_numpy(clip)[None]).squeeze().detach().numpy()

    sides["plain SpeechBrain"] = run_plain
    sides["speechbrain adapter"] = lambda clip: adapter.embed_batch([clip])[0]
    started = time.perf_counter()
    counts = [int(value) for value in args.onnx_threads.split(",")]
    for count in counts:
        onnx = OnnxEcapa.load(model_dir, export_dir=export, threads=count)
        sides[f"onnx adapter, {count} thr"] = lambda clip, model=onnx: model.embed_batch([clip])[0]
    int8 = OnnxEcapa.load(model_dir, export_dir=export, threads=max(counts), int8=True)
    sides[f"onnx-int8, {max(counts)} thr"] = lambda clip: int8.embed_batch([clip])[0]
    print(f"ONNX export and sessions: {time.perf_counter() - started:.1f} s")
    torch.set_num_threads(args.threads)  # OnnxEcapa.load may lower torch's count for features

    names = list(sides)
    spent = {(name, seconds): 0.0 for name in names for seconds in LENGTHS}
    worst = dict.fromkeys(names, 1.0)
    for side in sides.values():  # warm-up
        side(clips_of(args.corpus, 3.0, 1)[0])
    for seconds in LENGTHS:
        for index, clip in enumerate(clips_of(args.corpus, seconds, args.clips)):
            for repeat in range(args.repeats):
                shift = (index + repeat) % len(names)
                outputs = {}
                for name in names[shift:] + names[:shift]:
                    began = time.perf_counter()
                    outputs[name] = sides[name](clip)
                    spent[name, seconds] += time.perf_counter() - began
                reference = outputs["plain SpeechBrain"]
                reference = reference / np.linalg.norm(reference)
                for name in names:
                    vector = outputs[name] / np.linalg.norm(outputs[name])
                    worst[name] = min(worst[name], float(vector @ reference))

    print(
        f"LibriSpeech ({args.corpus.name}), {args.clips} clips per length, {args.repeats} runs, "
        f"torch {torch.__version__} ({args.threads} threads), onnxruntime "
        f"{onnxruntime.__version__}, {os.cpu_count()} cores"
    )
    header = "".join(f"{f'RTF {s:g} s':>12}" for s in LENGTHS)
    speed = "".join(f"{f'x {s:g} s':>9}" for s in LENGTHS)
    print(f"{'side':<24}{header}{speed}{'min cos':>11}{'GFLOP/s 10 s':>14}")
    for name in names:
        rtfs = [spent[name, s] / (s * args.clips * args.repeats) for s in LENGTHS]
        ratios = [spent["plain SpeechBrain", s] / spent[name, s] for s in LENGTHS]
        print(
            f"{name:<24}"
            + "".join(f"{rtf:>12.4f}" for rtf in rtfs)
            + "".join(f"{ratio:>9.2f}" for ratio in ratios)
            + f"{worst[name]:>11.6f}"
            + f"{GFLOP_PER_AUDIO_SECOND / rtfs[1]:>14.0f}"
        )


if __name__ == "__main__":
    main()
