"""Measure the activation ranges the int8 backend ships (``voiceauth_adapters/onnx/data``).

The speech: LibriSpeech cohort speakers only (ids ending in 0-3, the same speakers as the
shipped score cohort, never the calibration or evaluation speakers), each clip's speech as the
service finds it (the project's decoder and Silero speech detector), at most 8 s of it, through
SpeechBrain's features exactly as the ONNX backend computes them. onnxruntime's MinMax
calibrator records each quantised tensor's range; the JSON it writes is what
``ensure_int8_export`` quantises with, on every install, without audio.

    python benchmarks/int8_ranges.py [CORPUS] [--clips N] [--out FILE]
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.embed import DEFAULT_CORPUS, verified_model_dir
from voiceauth_adapters.audio.decoder import AudioDecoderLimits, FfmpegSoundfileDecoder
from voiceauth_adapters.onnx import OnnxEcapa, ensure_export, export_dir_for
from voiceauth_adapters.onnx.quantized import INT8_RANGES, measure_ranges
from voiceauth_adapters.vad import SileroSpeechDetector
from voiceauth_web.settings import Settings

COHORT_SPEAKERS = re.compile(r"\d*[0-3]")  # the shipped cohort's split rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--clips", type=int, default=32, help="cohort clips to measure on")
    parser.add_argument("--seconds", type=float, default=8.0, help="speech taken from each")
    parser.add_argument("--out", type=Path, default=INT8_RANGES)
    args = parser.parse_args()
    model_dir = verified_model_dir()
    export_dir = export_dir_for(model_dir, Settings.from_env().cache_dir)
    fp32, _ = ensure_export(model_dir, export_dir)
    backend = OnnxEcapa.load(model_dir, export_dir=export_dir, threads=0)
    decoder = FfmpegSoundfileDecoder(AudioDecoderLimits(max_seconds=3600.0, max_bytes=1 << 30))
    detector = SileroSpeechDetector()
    clips = [
        path
        for path in sorted(args.corpus.rglob("*.flac"))
        if COHORT_SPEAKERS.fullmatch(path.name.split("-")[0])
    ][: args.clips]
    if not clips:
        raise SystemExit(f"no cohort-speaker .flac files in {args.corpus}")
    features = []
    seconds = 0.0
    for path in clips:
        speech = detector.speech_sync(decoder.decode_sync(path.read_bytes()))
        speech = speech.slice(0, args.seconds)
        seconds += speech.duration
        features.append(backend.features(np.asarray(speech.samples)))
    with tempfile.TemporaryDirectory() as scratch:
        measure_ranges(fp32, features, args.out, scratch=Path(scratch) / "int8.onnx")
    print(f"ranges of {len(clips)} cohort clips ({seconds:.0f} s of speech) -> {args.out}")


if __name__ == "__main__":
    main()
