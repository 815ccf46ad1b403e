"""Real-time factor of the ECAPA-TDNN adapter next to plain SpeechBrain, on the same real speech.

RTF = compute seconds per second of audio (below 1 is faster than real time). In one process,
on the same clips, alternating which goes first:

- adapter (sync): ``SpeechBrainEcapa.embed_batch`` — the compute a worker pool runs;
- adapter (async): ``await SpeechBrainEcapa.embed`` — the same plus the hop off the event loop;
- plain SpeechBrain: ``EncoderClassifier.encode_batch(signal)`` exactly as the model card uses it.

    python benchmarks/embed.py [CORPUS] [--files N] [--seconds S] [--threads T] [--repeats R]

The model files come from the cache (`make model`). Other load on the machine shows in the
figures: compare the ratio, which both sides share, more than the absolute RTF.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from voiceauth_adapters.speechbrain import SpeechBrainEcapa, resolve_model
from voiceauth_core import Audio
from voiceauth_web.settings import Settings

DEFAULT_CORPUS = (
    Path(__file__).resolve().parents[2] / "shared/corpora/librispeech-train-clean-100-sample"
)


def verified_model_dir() -> Path:
    """The model files the service would load (``voiceauth model fetch`` put them there)."""
    settings = Settings.from_env()
    return resolve_model(
        model_dir=settings.model_dir, cache_dir=settings.cache_dir, allow_download=False
    ).directory


def plain_speechbrain(model_dir: Path, savedir: Path):
    """An EncoderClassifier loaded the model card's way, offline, from a copy of the files."""
    shutil.copytree(model_dir, savedir)
    shutil.copy(savedir / "label_encoder.txt", savedir / "label_encoder.ckpt")
    os.environ["HF_HUB_OFFLINE"] = "1"
    # Imported after HF_HUB_OFFLINE is set: the hub library reads it once, on import.
    from speechbrain.inference.speaker import EncoderClassifier  # noqa: PLC0415

    return EncoderClassifier.from_hparams(
        source="speechbrain/spkrec-ecapa-voxceleb", savedir=str(savedir)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--files", type=int, default=12, help="utterances to embed")
    parser.add_argument("--seconds", type=float, default=8.0, help="audio taken from each")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for both")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per clip and side")
    args = parser.parse_args()

    import torch  # noqa: PLC0415 - after the arguments parse, so --help is instant

    files = sorted(args.corpus.glob("*.flac"))[: args.files]
    if not files:
        raise SystemExit(f"no .flac files in {args.corpus}")
    clips = []
    for path in files:
        samples, rate = sf.read(path, dtype="float32")
        assert rate == 16000, path
        clips.append(np.ascontiguousarray(samples[: int(args.seconds * rate)]))
    audio_s = sum(len(c) for c in clips) / 16000

    model_dir = verified_model_dir()
    adapter = SpeechBrainEcapa.load(model_dir, threads=args.threads)
    with tempfile.TemporaryDirectory() as folder:
        plain = plain_speechbrain(model_dir, Path(folder) / "spkrec-ecapa-voxceleb")
    torch.set_num_threads(args.threads)

    def run_plain(clip: np.ndarray) -> np.ndarray:
        signal = torch.from_numpy(clip)[None]
        return plain.encode_batch(signal).squeeze().detach().numpy()

    def run_sync(clip: np.ndarray) -> np.ndarray:
        return adapter.embed_batch([clip])[0]

    async def run_async(clip: np.ndarray) -> np.ndarray:
        return (await adapter.embed(Audio(samples=clip, sample_rate=16000))).vector

    loop = asyncio.new_event_loop()
    sides = {
        "adapter (sync)": run_sync,
        "adapter (async)": lambda clip: loop.run_until_complete(run_async(clip)),
        "plain SpeechBrain": run_plain,
    }
    for side in sides.values():  # warm-up: first calls allocate
        side(clips[0])
    spent = dict.fromkeys(sides, 0.0)
    cosines = []
    order = list(sides)
    for index, clip in enumerate(clips):
        for repeat in range(args.repeats):
            turn = order[(index + repeat) % 3 :] + order[: (index + repeat) % 3]
            outputs = {}
            for name in turn:
                began = time.perf_counter()
                outputs[name] = sides[name](clip)
                spent[name] += time.perf_counter() - began
            reference = outputs["plain SpeechBrain"]
            cosines.append(float(outputs["adapter (sync)"] @ reference / np.linalg.norm(reference)))
    loop.close()
    adapter.close()

    total = audio_s * args.repeats
    print(
        f"{len(clips)} LibriSpeech clips of {args.corpus.name}, {audio_s:.1f} s of audio, "
        f"{args.repeats} runs each, torch {torch.__version__}, {args.threads} threads, "
        f"{os.cpu_count()} cores"
    )
    print(f"{'side':<20} {'RTF':>8} {'ms per audio second':>20}")
    for name, seconds in spent.items():
        print(f"{name:<20} {seconds / total:>8.4f} {1000 * seconds / total:>20.1f}")
    base = spent["plain SpeechBrain"]
    print(f"ratio adapter (sync) / plain:  {spent['adapter (sync)'] / base:.3f}")
    print(f"ratio adapter (async) / plain: {spent['adapter (async)'] / base:.3f}")
    print(
        f"cosine adapter vs plain: min {min(cosines):.6f}, median {statistics.median(cosines):.6f}"
    )


if __name__ == "__main__":
    main()
