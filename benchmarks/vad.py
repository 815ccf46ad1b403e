"""Speech detectors compared on real speech: Silero VAD (the adapter) against webrtcvad.

Each LibriSpeech utterance (trimmed, so nearly all speech) is put between 1.5 s gaps, in three
conditions: clean (gaps of faint noise at -60 dBFS), noisy (white noise at 10 dB SNR over
everything) and phone (clean, then 8 kHz G.711 mu-law and back, as a call arrives). Reported per
detector: the share of the utterance kept (speech recall; its own short pauses count against
every detector alike), the share of the gaps kept (false alarms), and compute seconds per audio
second.

    python benchmarks/vad.py [CORPUS] [--files N]

webrtcvad is optional (``pip install webrtcvad-wheels``); without it only Silero is measured.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from voiceauth_adapters.audio.telephone import phone_channel
from voiceauth_adapters.vad import SileroSpeechDetector
from voiceauth_core import Audio

RATE = 16_000
GAP_S = 1.5
DEFAULT_CORPUS = (
    Path(__file__).resolve().parents[2] / "shared/corpora/librispeech-train-clean-100-sample"
)

Mask = Callable[[np.ndarray], np.ndarray]  # samples -> boolean mask of kept samples


def conditions(speech: np.ndarray, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, int]]:
    gap = int(GAP_S * RATE)
    start = gap
    clean = np.concatenate([np.zeros(gap), speech, np.zeros(gap)]).astype(np.float32)
    clean += rng.normal(0, 1e-3, len(clean)).astype(np.float32)
    level = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)))
    noisy = clean + rng.normal(0, level / np.sqrt(10), len(clean)).astype(np.float32)
    phone = phone_channel(Audio(samples=clean, sample_rate=RATE)).samples
    return {"clean": (clean, start), "noisy": (noisy, start), "phone": (phone, start)}


def silero_mask(detector: SileroSpeechDetector) -> Mask:
    def mask(samples: np.ndarray) -> np.ndarray:
        kept = np.zeros(len(samples), bool)
        for start, end in detector.segments(Audio(samples=samples, sample_rate=RATE)):
            kept[start:end] = True
        return kept

    return mask


def webrtc_mask(aggressiveness: int) -> Mask | None:
    try:
        import webrtcvad  # type: ignore[import-not-found]  # noqa: PLC0415 - optional
    except ImportError:
        return None
    vad = webrtcvad.Vad(aggressiveness)
    frame = int(0.03 * RATE)

    def mask(samples: np.ndarray) -> np.ndarray:
        pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
        kept = np.zeros(len(samples), bool)
        for start in range(0, len(pcm) - frame + 1, frame):
            if vad.is_speech(pcm[start : start + frame].tobytes(), RATE):
                kept[start : start + frame] = True
        return kept

    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--files", type=int, default=40, help="utterances to use")
    parser.add_argument("--seconds", type=float, default=8.0, help="speech taken from each")
    args = parser.parse_args()
    files = sorted(args.corpus.glob("*.flac"))[: args.files]
    if not files:
        raise SystemExit(f"no .flac files in {args.corpus}")
    detectors: dict[str, Mask] = {"silero (adapter)": silero_mask(SileroSpeechDetector())}
    for level in (2, 3):
        found = webrtc_mask(level)
        if found is not None:
            detectors[f"webrtcvad mode {level}"] = found
    rng = np.random.default_rng(0)
    totals: dict[tuple[str, str], list[float]] = {}
    for path in files:
        samples, rate = sf.read(path, dtype="float32")
        assert rate == RATE, path
        speech = samples[: int(args.seconds * RATE)]
        for condition, (signal, start) in conditions(speech, rng).items():
            truth = np.zeros(len(signal), bool)
            truth[start : start + len(speech)] = True
            for name, mask in detectors.items():
                began = time.perf_counter()
                kept = mask(signal)
                spent = time.perf_counter() - began
                row = totals.setdefault((name, condition), [0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
                row[0] += float(np.sum(kept & truth))
                row[1] += float(np.sum(truth))
                row[2] += float(np.sum(kept & ~truth))
                row[3] += float(np.sum(~truth))
                row[4] += spent
                row[5] += len(signal) / RATE
    print(f"{len(files)} utterances of {args.corpus.name}, {args.seconds:g} s each, gaps {GAP_S} s")
    print(f"{'detector':<20} {'condition':<8} {'speech kept':>12} {'gaps kept':>10} {'RTF':>8}")
    for (name, condition), row in totals.items():
        recall, false_alarm, rtf = row[0] / row[1], row[2] / row[3], row[4] / row[5]
        print(f"{name:<20} {condition:<8} {recall:>12.1%} {false_alarm:>10.1%} {rtf:>8.4f}")
    if len(detectors) == 1:
        print("(webrtcvad not installed: pip install webrtcvad-wheels to compare)")
    growing_capture(files, args.seconds)


def growing_capture(files: list[Path], seconds: float) -> None:
    """Verify's checks on a live capture: the whole capture again after every second of audio.

    The adapter remembers where each recording's frames were left, so every check after the
    first computes only the new second; a detector that remembers nothing (``remember=0``, as
    before) computes the whole capture every time. Same captures, same process, alternating.
    """
    remembering = SileroSpeechDetector()
    afresh = SileroSpeechDetector(remember=0)
    spent = {"remembered": 0.0, "recomputed": 0.0}
    for index, path in enumerate(files):
        samples, _ = sf.read(path, dtype="float32")
        samples = samples[: int(seconds * RATE)]
        sides = [("remembered", remembering), ("recomputed", afresh)]
        for end in range(RATE, len(samples) + 1, RATE):
            capture = Audio(samples=samples[:end], sample_rate=RATE)
            found = {}
            for name, detector in sides if index % 2 else sides[::-1]:
                began = time.perf_counter()
                found[name] = detector.segments(capture)
                spent[name] += time.perf_counter() - began
            assert found["remembered"] == found["recomputed"]
    print(
        f"growing capture, checked every 1 s up to {seconds:g} s, {len(files)} utterances: "
        f"{1e3 * spent['recomputed'] / len(files):.1f} ms of detection per capture recomputed, "
        f"{1e3 * spent['remembered'] / len(files):.1f} ms remembered "
        f"({spent['recomputed'] / spent['remembered']:.1f}x), same segments at every check"
    )


if __name__ == "__main__":
    main()
