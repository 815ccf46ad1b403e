"""A spoof played quieter: does AASIST's score fall, with and without the detector's level step?

The evaluation side's spoofed clips over the phone channels (every other one) are heard at -12 dB
by the detector without its level normalisation (``--front-end none`` of ``voiceauth eval
--spoof``), the gain applied to the trimmed speech; their scores are compared with the same clips
at their own level, and with the normalising detector's (which hears every level alike), against
the evaluation side's genuine clips. Needs the score cache of a full ``voiceauth eval --spoof``
run with ``--front-end none`` and without (``benchmarks/spoof_eval.sh``); scores of the quiet
clips are cached in ``spoof-level-attack.csv`` beside it.

    nice -n 10 python benchmarks/spoof_level_attack.py [CORPUS]
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import sys
from pathlib import Path

import numpy as np

from voiceauth_adapters.antispoof import DETECTOR_ID
from voiceauth_adapters.evaluation.spoof_eval.fit import equal_error
from voiceauth_adapters.evaluation.spoof_eval.scores import (
    raw_detector,
    read_manifest,
    read_scores,
    score_clips,
)
from voiceauth_adapters.evaluation.spoof_eval.splits import scored_clips, split_corpus
from voiceauth_core.audio import Audio
from voiceauth_web import wiring
from voiceauth_web.settings import Settings

GAIN_DB = -12.0


def quieter(audio: Audio) -> Audio:
    return Audio(
        samples=(audio.samples * 10 ** (GAIN_DB / 20)).astype(np.float32),
        sample_rate=audio.sample_rate,
    )


def main() -> None:
    settings = Settings.from_env()
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else settings.cache_dir / "spoof-corpus"
    cache = settings.cache_dir / "spoof-scores.csv"
    rows = read_manifest(corpus)
    by_path = {}
    for front_end in ("none", "rms-26dBFS"):
        known = read_scores(cache, detector=DETECTOR_ID, front_end=front_end)
        by_path[front_end] = {s.path: s for s in known.values() if s.assessed}
    clips = scored_clips(
        rows, {p: (s.combined, s.speech_seconds) for p, s in by_path["none"].items()}
    )
    split = split_corpus(clips)
    evaluation = [c for c in clips if split.side(c) == "eval"]
    attacks = [c for c in evaluation if c.label == "spoof" and c.channel in ("g711", "mobile")]
    attacks = attacks[::2]
    offline = dataclasses.replace(settings, max_audio_duration=3600.0)
    quiet = asyncio.run(
        score_clips(
            corpus,
            [c.path for c in attacks],
            decoder=wiring.audio_decoder(offline),
            speech_detector=wiring.speech_detector(),
            spoof=raw_detector(settings.cache_dir, level=False),
            cache=cache.with_name("spoof-level-attack.csv"),
            front_end=f"none{GAIN_DB:+g}dB",
            prepare=quieter,
        )
    )
    genuine = {
        name: [by_path[name][c.path].combined for c in evaluation if c.label == "bonafide"]
        for name in by_path
    }
    print(f"{len(attacks)} spoofed clips at {GAIN_DB:+g} dB; {len(genuine['none'])} genuine clips")
    print(
        f"{'family':<10} {'clips':>5}  {'median raw: as built':>20} {'quieter':>8} "
        f"{'EER: as built':>14} {'quieter':>8} {'normalised':>10}"
    )
    families = sorted({c.family for c in attacks})
    for family in [*families, "(all)"]:
        chosen = [
            c
            for c in attacks
            if (family == "(all)" or c.family == family) and quiet[c.path].assessed
        ]
        built = [by_path["none"][c.path].combined for c in chosen]
        soft = [quiet[c.path].combined for c in chosen]
        level = [by_path["rms-26dBFS"][c.path].combined for c in chosen]
        print(
            f"{family:<10} {len(chosen):>5}  {statistics.median(built):>20.2f} "
            f"{statistics.median(soft):>8.2f} "
            f"{100 * equal_error(genuine['none'], built).rate:>13.1f}% "
            f"{100 * equal_error(genuine['none'], soft).rate:>7.1f}% "
            f"{100 * equal_error(genuine['rms-26dBFS'], level).rate:>9.1f}%"
        )


if __name__ == "__main__":
    main()
