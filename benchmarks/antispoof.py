"""AASIST's cost and scores: torch against the ONNX export (fp32, and dynamic int8), on real speech.

Prints, on one thread each:

- CPU seconds per second of audio of torch, onnxruntime fp32 and onnxruntime int8
  (``quantize_dynamic``: weights int8, activations quantised per call);
- the largest |difference| of the raw score (logit spoof - logit bona fide) between the ONNX
  models and torch, over LibriSpeech clips and FSDD digit strings;
- the median (p10, p90) of the combined raw score of the LibriSpeech clips wide-band and through
  the simulated G.711 line (``phone_channel``).

    python benchmarks/antispoof.py [CORPORA] [--clips N]

The weights come from the cache (`make model`). Other load on the machine shows in the figures.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import soundfile as sf
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from scipy.signal import resample_poly

from voiceauth_adapters.antispoof import ensure_export, resolve_weights
from voiceauth_adapters.antispoof.detector import fill_window
from voiceauth_adapters.antispoof.manifest import WINDOW
from voiceauth_adapters.antispoof.network import load_network
from voiceauth_adapters.audio.telephone import phone_channel
from voiceauth_core import Audio
from voiceauth_core.spoofing import window_bounds
from voiceauth_web.settings import Settings

DEFAULT_CORPORA = Path(__file__).resolve().parents[2] / "shared/corpora"
Samples = npt.NDArray[np.float32]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def librispeech(corpora: Path, count: int) -> list[Samples]:
    files = sorted((corpora / "librispeech-train-clean-100-sample").glob("*.flac"))
    step = max(1, len(files) // count)
    return [sf.read(f, dtype="float32")[0] for f in files[::step][:count]]


def fsdd(corpora: Path, count: int) -> list[Samples]:
    """Five digits of one speaker joined (about 2 s), at 8 kHz resampled to 16 kHz."""
    files = sorted((corpora / "fsdd").glob("*.wav"))
    speakers = sorted({f.name.split("_")[1] for f in files})
    clips = []
    for i in range(count):
        speaker = speakers[i % len(speakers)]
        take = i // len(speakers)
        names = [f"{digit}_{speaker}_{take}.wav" for digit in range(5)]
        narrow = np.concatenate([sf.read(corpora / "fsdd" / n, dtype="float32")[0] for n in names])
        clips.append(resample_poly(narrow, 2, 1).astype(np.float32))
    return clips


def windows(samples: Samples) -> Samples:
    return np.stack([fill_window(samples[a:b]) for a, b in window_bounds(len(samples), WINDOW)])


def session(path: Path) -> Callable[[Samples], Samples]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    run = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]).run
    return lambda batch: np.concatenate([run(["score"], {"waveform": w[None]})[0] for w in batch])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="?", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--clips", type=int, default=20)
    args = parser.parse_args()

    torch.set_num_threads(1)
    settings = Settings.from_env()
    weights, _ = resolve_weights(cache_dir=settings.cache_dir, allow_download=False)
    fp32, _ = ensure_export(weights, weights.parent)
    network = load_network(weights)

    def by_torch(batch: Samples) -> Samples:
        with torch.inference_mode():
            logits = network(torch.from_numpy(batch))[1]
        result: Samples = (logits[:, 0] - logits[:, 1]).numpy()
        return result

    with tempfile.TemporaryDirectory() as scratch:
        int8 = Path(scratch) / "aasist-int8.onnx"
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        backends = {"torch": by_torch, "onnx fp32": session(fp32), "onnx int8": session(int8)}

        speech = librispeech(args.corpora, args.clips)
        digits = fsdd(args.corpora, args.clips // 2)
        clips = speech[: args.clips // 2] + digits
        audio_s = sum(len(w) for c in clips for w in windows(c)) / 16000
        scores: dict[str, list[Samples]] = {}
        for name, run in backends.items():
            run(windows(clips[0]))  # warm up
            started, wall = cpu_seconds(), time.perf_counter()
            scores[name] = [run(windows(c)) for c in clips]
            cost, elapsed = cpu_seconds() - started, time.perf_counter() - wall
            print(
                f"{name:10s} {cost / audio_s:.3f} CPU-s per audio-s ({elapsed / audio_s:.3f} wall)"
            )
        reference = np.concatenate(scores["torch"])
        for name in ("onnx fp32", "onnx int8"):
            diff = np.abs(np.concatenate(scores[name]) - reference)
            print(
                f"{name:10s} |score - torch| max {diff.max():.2e} mean {diff.mean():.2e} "
                f"over {len(diff)} windows of {len(clips)} clips"
            )

        fp32_run = backends["onnx fp32"]
        for label, transform in (("wide-band", None), ("G.711", phone_channel)):
            combined = []
            for samples in speech:
                heard = samples
                if transform is not None:
                    heard = transform(Audio(samples=samples, sample_rate=16000)).samples
                combined.append(float(np.mean(fp32_run(windows(heard)))))
            values = np.array(combined)
            p10, p50, p90 = np.percentile(values, [10, 50, 90])
            print(
                f"LibriSpeech {label:9s} combined raw score: median {p50:.2f} "
                f"(p10 {p10:.2f}, p90 {p90:.2f}), n={len(values)}"
            )


if __name__ == "__main__":
    main()
