"""The local spoof corpus: bona fide and spoofed clips through the channels the service meets.

Bona fide speech (LibriSpeech pieces, FSDD digit strings) is heard clean, over G.711, over the
mobile AMR path, 12 dB quieter, 6 dB louder (never clipped) and with white or pink noise at
15-20 dB SNR. Synthetic speech (every offline synthesiser and English voice) is heard clean,
over G.711 and over the mobile path; replays (bona fide clips through a loudspeaker into a
room) over G.711 and the mobile path. Files are 16 kHz mono 16-bit FLAC at
``<label>/<system>/<channel>/<name>.flac``; ``manifest.csv`` lists them with their labels,
systems, speakers or voices, channels and texts, for speaker-disjoint and
leave-one-synthesiser-out splits. A build skips the files that exist; each file is written
whole or not at all.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from voiceauth_adapters.audio.telephone import mobile_channel, phone_channel
from voiceauth_adapters.evaluation.distortion import NoiseColour, add_noise, change_level
from voiceauth_adapters.evaluation.spoof_sources import (
    Source,
    fsdd_sources,
    librispeech_sources,
    replay_sources,
    seed_for,
    synthetic_sources,
)
from voiceauth_adapters.evaluation.spoof_texts import SpoofText
from voiceauth_adapters.evaluation.synthesis import FAMILIES, Synthesiser
from voiceauth_core.audio import Audio

__all__ = [
    "BONAFIDE_CHANNELS",
    "CHANNELS",
    "MANIFEST_FIELDS",
    "REPLAY_CHANNELS",
    "SPOOF_CHANNELS",
    "SYSTEMS",
    "Row",
    "Sizes",
    "build",
    "channels_of",
    "count_table",
    "hear",
    "plan",
    "write_manifest",
    "write_texts",
]

BONAFIDE_CHANNELS = ("clean", "g711", "mobile", "quiet", "loud", "noisy")
SPOOF_CHANNELS = ("clean", "g711", "mobile")
REPLAY_CHANNELS = ("g711", "mobile")
#: Every channel, in the summary's order.
CHANNELS = BONAFIDE_CHANNELS
#: What ``--systems`` may name: the bona fide corpora, replay, and the synthesiser families.
SYSTEMS = ("librispeech", "fsdd", "replay", *FAMILIES)

QUIET_DB = -12.0
LOUD_DB = 6.0
NOISE_SNR_DB = (15.0, 20.0)

MANIFEST_FIELDS = ("path", "label", "system", "family", "speaker", "channel", "text_id", "seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class Sizes:
    """How much of each part to build.

    Args:
        librispeech_speakers: LibriSpeech speakers (the first, by id).
        pieces: 4-6 s pieces per LibriSpeech speaker.
        fsdd_speakers: FSDD speakers.
        fsdd_strings: Digit strings per FSDD speaker.
        texts: Texts per synthetic voice.
        limit: At most this many clips per system and voice (a quick trial build).
    """

    librispeech_speakers: int = 60
    pieces: int = 2
    fsdd_speakers: int = 6
    fsdd_strings: int = 10
    texts: int = 40
    limit: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One file of the corpus, as ``manifest.csv`` lists it (see :class:`.Source`).

    Args:
        path: The file, relative to the corpus folder.
        label: ``bonafide`` or ``spoof``.
        system: Where it comes from.
        family: The system's kind (the corpus, the synthesiser family, or ``replay``).
        speaker: ``corpus:speaker`` or ``family:voice``.
        channel: One of :data:`CHANNELS`.
        text_id: What is said.
        seconds: Its length.
    """

    path: str
    label: str
    system: str
    family: str
    speaker: str
    channel: str
    text_id: str
    seconds: float


def hear(channel: str, audio: Audio, seed: int) -> Audio:
    """``audio`` through ``channel`` (noise drawn from ``seed``).

    Raises:
        AudioProcessingError: The mobile codec failed.
        ValueError: Not one of :data:`CHANNELS`.
    """
    if channel == "clean":
        return audio
    if channel == "g711":
        return phone_channel(audio)
    if channel == "mobile":
        return mobile_channel(audio)
    if channel == "quiet":
        return change_level(audio, QUIET_DB)
    if channel == "loud":
        return change_level(audio, LOUD_DB)
    if channel == "noisy":
        rng = np.random.default_rng(seed)
        colour: NoiseColour = "pink" if rng.integers(2) else "white"
        snr_db = float(rng.uniform(*NOISE_SNR_DB))
        return add_noise(audio, snr_db=snr_db, colour=colour, seed=int(rng.integers(2**62)))
    raise ValueError(f"unknown channel {channel!r}")


def channels_of(source: Source) -> tuple[str, ...]:
    """The channels a clip is heard through: all for bona fide speech, the clean and phone
    ones for synthetic speech, the phone ones for replays (a loudspeaker played into a call)."""
    if source.family == "replay":
        return REPLAY_CHANNELS
    return BONAFIDE_CHANNELS if source.label == "bonafide" else SPOOF_CHANNELS


def plan(
    corpora: Path,
    *,
    systems: Collection[str],
    synthesisers: Sequence[Synthesiser],
    texts: Sequence[SpoofText],
    sizes: Sizes,
    seed: int,
) -> list[Source]:
    """Every clip of the chosen ``systems`` (see :data:`SYSTEMS`), bona fide first.

    Args:
        corpora: The folder holding ``librispeech-train-clean-100-sample/`` and ``fsdd/``.
        systems: What to build.
        synthesisers: The synthesisers of the chosen families (checked by the caller).
        texts: What the synthesisers say (the first ``sizes.texts``).
        sizes: How much.
        seed: The corpus's seed.

    Raises:
        InvalidInputError: A chosen corpus folder is missing or empty.
    """
    bonafide: list[Source] = []
    if {"librispeech", "replay"} & set(systems):
        bonafide += librispeech_sources(
            corpora,
            speakers=sizes.librispeech_speakers,
            pieces=sizes.pieces,
            limit=sizes.limit,
        )
    if {"fsdd", "replay"} & set(systems):
        bonafide += fsdd_sources(
            corpora,
            speakers=sizes.fsdd_speakers,
            strings=sizes.fsdd_strings,
            seed=seed,
            limit=sizes.limit,
        )
    sources = [source for source in bonafide if source.system in systems]
    if "replay" in systems:
        sources += replay_sources(bonafide, seed=seed, limit=sizes.limit)
    count = min(sizes.texts, sizes.limit) if sizes.limit is not None else sizes.texts
    for synthesiser in synthesisers:
        sources += synthetic_sources(synthesiser, texts[:count], seed=seed)
    return sources


def _relative(source: Source, channel: str) -> str:
    return f"{source.label}/{source.system}/{channel}/{source.name}.flac"


def _write(path: Path, audio: Audio) -> None:
    """A 16-bit FLAC file, written under a temporary name and renamed when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    soundfile.write(partial, audio.samples, audio.sample_rate, subtype="PCM_16", format="FLAC")
    partial.replace(path)


def build(
    sources: Iterable[Source],
    out: Path,
    *,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> list[Row]:
    """Make every source's files that are missing under ``out``; the rows of all of them.

    Args:
        sources: What to build (from :func:`plan`).
        out: The corpus folder.
        seed: The corpus's seed (noise is drawn per clip and channel from it).
        progress: Called with 1 after each source.

    Raises:
        SynthesiserUnavailableError: A synthesiser is not installed.
        AudioProcessingError: A synthesiser or the mobile codec failed.
        InvalidInputError: A corpus file cannot be read.
    """
    rows: list[Row] = []
    for source in sources:
        targets = {channel: _relative(source, channel) for channel in channels_of(source)}
        missing = [channel for channel, path in targets.items() if not (out / path).is_file()]
        if missing:
            audio = source.render()
            for channel in missing:
                clip_seed = seed_for(seed, "channel", source.system, source.name, channel)
                _write(out / targets[channel], hear(channel, audio, clip_seed))
        for channel, path in targets.items():
            info = soundfile.info(str(out / path))
            rows.append(
                Row(
                    path=path,
                    label=source.label,
                    system=source.system,
                    family=source.family,
                    speaker=source.speaker,
                    channel=channel,
                    text_id=source.text_id,
                    seconds=round(info.frames / info.samplerate, 3),
                )
            )
        if progress is not None:
            progress(1)
    return rows


def write_manifest(rows: Sequence[Row], path: Path) -> None:
    """``manifest.csv``: one line per file, columns :data:`MANIFEST_FIELDS`."""
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_FIELDS)
        for row in rows:
            writer.writerow([getattr(row, name) for name in MANIFEST_FIELDS])
    partial.replace(path)


def write_texts(texts: Sequence[SpoofText], path: Path) -> None:
    """``texts.csv``: what each synthetic ``text_id`` says."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("text_id", "text"))
        writer.writerows((text.text_id, text.text) for text in texts)


def count_table(rows: Sequence[Row]) -> str:
    """Files per system and channel, with each system's hours, and totals per label."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    seconds: dict[str, float] = defaultdict(float)
    labels: dict[str, str] = {}
    for row in rows:
        counts[row.system][row.channel] += 1
        seconds[row.system] += row.seconds
        labels[row.system] = row.label
    used = [channel for channel in CHANNELS if any(c[channel] for c in counts.values())]
    width = max([len("system"), *(len(system) for system in counts)])
    header = f"{'label':<9} {'system':<{width}} " + " ".join(f"{c:>6}" for c in used)
    lines = [header + f" {'files':>6} {'hours':>6}", "-" * (len(header) + 14)]
    order = sorted(counts, key=lambda system: (labels[system] != "bonafide", system))
    for system in order:
        cells = " ".join(f"{counts[system][c] or '-':>6}" for c in used)
        total = sum(counts[system].values())
        hours = seconds[system] / 3600
        lines.append(f"{labels[system]:<9} {system:<{width}} {cells} {total:>6} {hours:>6.2f}")
    lines.append("-" * (len(header) + 14))
    for label in ("bonafide", "spoof"):
        files = sum(1 for row in rows if row.label == label)
        hours = sum(row.seconds for row in rows if row.label == label) / 3600
        lines.append(
            f"{label:<9} {'(all)':<{width}} {'':>{7 * len(used) - 1}} {files:>6} {hours:>6.2f}"
        )
    return "\n".join(lines)
