"""The spoof corpus's clips before any channel: bona fide, synthetic and replayed speech.

Each :class:`Source` names one clip and knows how to make it (``render``), so a build can skip
what exists without making it. Everything random is drawn from generators seeded by the
corpus's seed and the clip's own name (:func:`seed_for`): a clip comes out the same whatever
else is built, in whatever order.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile

from voiceauth_adapters.audio.decoder import to_canonical
from voiceauth_adapters.evaluation.replay import replay
from voiceauth_adapters.evaluation.spoof_texts import SpoofText
from voiceauth_adapters.evaluation.synthesis import Prosody, Synthesiser, Voice
from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.errors import InvalidInputError

__all__ = [
    "FSDD_FOLDER",
    "LIBRISPEECH_FOLDER",
    "Source",
    "fsdd_sources",
    "librispeech_sources",
    "read_audio",
    "replay_sources",
    "seed_for",
    "synthetic_sources",
]

LIBRISPEECH_FOLDER = "librispeech-train-clean-100-sample"
FSDD_FOLDER = "fsdd"

#: A LibriSpeech piece lasts between these (cut at the quietest 20 ms frame in between).
PIECE_S = (4.0, 6.0)
#: An FSDD string has this many digits (drawn), with pauses of these lengths between them (filled
#: with noise at the takes' own floor).
DIGITS = (5, 6)
DIGIT_GAP_S = (0.06, 0.16)
#: Synthetic speech's peak level, drawn per clip (dBFS), like recordings made at varied levels.
SPOOF_PEAK_DB = (-9.0, -2.0)

_FRAME = CANONICAL_RATE // 50
_FADE_S = 0.01
_FSDD_NAME = re.compile(r"^(?P<digit>\d)_(?P<speaker>[a-z]+)_(?P<take>\d+)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """One clip of the corpus before any channel.

    Args:
        label: ``bonafide`` or ``spoof``.
        system: Where it comes from (``librispeech``, ``fsdd``, ``espeak-ng``,
            ``festival-slt-hts``, ``piper-joe``, ``replay-librispeech``, ...).
        family: The system's kind, for leave-one-out splits: the corpus for bona fide clips,
            the synthesiser family, or ``replay``.
        speaker: Whose voice: ``corpus:speaker`` for people (replays keep the person's),
            ``family:voice`` for synthetic voices.
        text_id: What is said (a piece of a LibriSpeech utterance, ``digits-...``, or ``t01``).
        name: The file name (without channel or suffix), unique within the system.
        render: Makes the clip (16 kHz).
    """

    label: str
    system: str
    family: str
    speaker: str
    text_id: str
    name: str
    render: Callable[[], Audio] = field(compare=False, repr=False)


def seed_for(seed: int, *parts: str) -> int:
    """A 63-bit seed from the corpus's ``seed`` and a clip's names: stable across runs."""
    digest = hashlib.sha256("|".join([str(seed), *parts]).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def read_audio(path: Path) -> Audio:
    """A corpus file at 16 kHz mono.

    Raises:
        InvalidInputError: The file cannot be read.
    """
    try:
        frames, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    return to_canonical(frames, int(rate))


def _faded(samples: npt.NDArray[np.floating], rate: int) -> npt.NDArray[np.float32]:
    """10 ms raised-cosine fades at both ends, so a cut makes no click."""
    out = np.asarray(samples, dtype=np.float32).copy()
    length = min(round(_FADE_S * rate), out.size // 2)
    if length:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, length))).astype(np.float32)
        out[:length] *= ramp
        out[-length:] *= ramp[::-1]
    return out


def _piece_bounds(samples: npt.NDArray[np.float32], count: int) -> list[tuple[int, int]]:
    """Up to ``count`` consecutive pieces of 4-6 s, each cut at its quietest 20 ms frame."""
    shortest, longest = (round(s * CANONICAL_RATE) for s in PIECE_S)
    bounds: list[tuple[int, int]] = []
    start = 0
    while len(bounds) < count and start + shortest <= samples.size:
        low, high = start + shortest, min(start + longest, samples.size)
        frames = (high - low) // _FRAME
        end = high
        if frames > 1:
            window = samples[low : low + frames * _FRAME].astype(np.float64)
            energy = np.sum(window.reshape(frames, _FRAME) ** 2, axis=1)
            end = low + int(np.argmin(energy)) * _FRAME + _FRAME // 2
        bounds.append((start, end))
        start = end
    return bounds


def _limited(sources: list[tuple[int, str, Source]], limit: int | None) -> list[Source]:
    """The sources in round-robin order over speakers (every speaker's first, then second,
    ...), at most ``limit`` of them."""
    ordered = [source for _, _, source in sorted(sources, key=lambda item: item[:2])]
    return ordered if limit is None else ordered[:limit]


def _speaker_of(path: Path) -> str:
    return re.split(r"[-_]", path.stem, maxsplit=1)[0]


def librispeech_sources(
    corpora: Path, *, speakers: int, pieces: int, limit: int | None = None
) -> list[Source]:
    """Pieces of 4-6 s of LibriSpeech utterances, ``pieces`` per speaker, from the first
    ``speakers`` speakers (by id) whose recordings give that many (each is read once to cut it).

    Raises:
        InvalidInputError: The folder is missing or holds no FLAC file.
    """
    folder = corpora / LIBRISPEECH_FOLDER
    files = sorted(folder.glob("*.flac")) if folder.is_dir() else []
    if not files:
        raise InvalidInputError(f"no LibriSpeech FLAC files in {folder}")
    by_speaker: dict[str, list[Path]] = defaultdict(list)
    for path in files:
        by_speaker[_speaker_of(path)].append(path)
    wanted = speakers if limit is None else min(speakers, limit)
    planned: list[tuple[int, str, Source]] = []
    for speaker in sorted(by_speaker):
        if len({name for _, name, _ in planned}) >= wanted:
            break
        cuts = [
            (path, index, bounds)
            for path in by_speaker[speaker]
            for index, bounds in enumerate(_piece_bounds(read_audio(path).samples, pieces))
        ][:pieces]
        if len(cuts) < pieces:
            continue
        for taken, (path, index, bounds) in enumerate(cuts):
            source = Source(
                label="bonafide",
                system="librispeech",
                family="librispeech",
                speaker=f"librispeech:{speaker}",
                text_id=f"{path.stem}#{index}",
                name=f"{path.stem}-p{index}",
                render=partial(_librispeech_piece, path, bounds),
            )
            planned.append((taken, speaker, source))
    return _limited(planned, limit)


def _librispeech_piece(path: Path, bounds: tuple[int, int]) -> Audio:
    start, end = bounds
    piece = read_audio(path).samples[start:end]
    return Audio(samples=_faded(piece, CANONICAL_RATE), sample_rate=CANONICAL_RATE)


def fsdd_sources(
    corpora: Path, *, speakers: int, strings: int, seed: int, limit: int | None = None
) -> list[Source]:
    """Strings of 5-6 digits, each spoken digit a separate FSDD take of one speaker.

    Raises:
        InvalidInputError: The folder is missing or holds no FSDD file.
    """
    folder = corpora / FSDD_FOLDER
    takes: dict[str, dict[int, list[Path]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(folder.glob("*.wav")) if folder.is_dir() else []:
        match = _FSDD_NAME.match(path.stem)
        if match:
            takes[match["speaker"]][int(match["digit"])].append(path)
    complete = sorted(speaker for speaker, own in takes.items() if len(own) == 10)
    if not complete:
        raise InvalidInputError(f"no FSDD speaker with all ten digits in {folder}")
    planned: list[tuple[int, str, Source]] = []
    for speaker in complete[:speakers]:
        for index in range(strings):
            rng = np.random.default_rng(seed_for(seed, "fsdd", speaker, str(index)))
            length = int(rng.integers(DIGITS[0], DIGITS[1] + 1))
            digits = [int(d) for d in rng.integers(0, 10, size=length)]
            files = [takes[speaker][d][int(rng.integers(len(takes[speaker][d])))] for d in digits]
            gaps = [float(g) for g in rng.uniform(*DIGIT_GAP_S, size=length - 1)]
            noise_seed = int(rng.integers(2**62))
            spoken = "".join(str(d) for d in digits)
            source = Source(
                label="bonafide",
                system="fsdd",
                family="fsdd",
                speaker=f"fsdd:{speaker}",
                text_id=f"digits-{spoken}",
                name=f"{speaker}-s{index:02d}-{spoken}",
                render=partial(_digit_string, files, gaps, noise_seed),
            )
            planned.append((index, speaker, source))
    return _limited(planned, limit)


def _native(path: Path) -> tuple[npt.NDArray[np.float64], int]:
    """A corpus file's samples, mono, at its own rate."""
    try:
        frames, rate = soundfile.read(path, dtype="float64", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    return frames.mean(axis=1), int(rate)


def _noise_floor(samples: npt.NDArray[np.float64], rate: int) -> float:
    """The RMS of a recording's quietest 10 ms: the room and line behind the voice."""
    frame = max(1, round(_FADE_S * rate))
    count = samples.size // frame
    if count == 0:
        return 0.0
    powers = np.mean(samples[: count * frame].reshape(count, frame) ** 2, axis=1)
    return float(np.sqrt(np.min(powers)))


def _digit_string(files: Sequence[Path], gaps: Sequence[float], noise_seed: int) -> Audio:
    """The takes joined at their own rate, each pause filled with noise at the level of the
    neighbouring takes' floor (a pause of digital silence would be a tell no call has)."""
    takes = [_native(path) for path in files]
    rate = takes[0][1]
    if any(own_rate != rate for _, own_rate in takes):
        raise InvalidInputError(f"the FSDD takes {files[0].name}, ... differ in sample rate")
    floors = [_noise_floor(samples, rate) for samples, _ in takes]
    rng = np.random.default_rng(noise_seed)
    parts: list[npt.NDArray[np.floating]] = []
    for position, (samples, _) in enumerate(takes):
        if position:
            level = (floors[position - 1] + floors[position]) / 2
            parts.append(level * rng.standard_normal(round(gaps[position - 1] * rate)))
        parts.append(_faded(samples, rate))
    joined = np.concatenate(parts).astype(np.float32)
    return to_canonical(joined[:, None], rate)


def replay_sources(
    bonafide: Sequence[Source], *, seed: int, limit: int | None = None
) -> list[Source]:
    """Each bona fide clip replayed through a loudspeaker into a room (drawn per clip)."""
    replayed: list[Source] = []
    counts: dict[str, int] = defaultdict(int)
    for source in bonafide:
        system = f"replay-{source.system}"
        if limit is not None and counts[system] >= limit:
            continue
        counts[system] += 1
        clip_seed = seed_for(seed, "replay", source.system, source.name)
        replayed.append(
            Source(
                label="spoof",
                system=system,
                family="replay",
                speaker=source.speaker,
                text_id=source.text_id,
                name=source.name,
                render=partial(_replayed, source, clip_seed),
            )
        )
    return replayed


def synthetic_sources(
    synthesiser: Synthesiser, texts: Sequence[SpoofText], *, seed: int
) -> list[Source]:
    """Every text in every voice of ``synthesiser``, its rate, pitch and level drawn per clip."""
    planned: list[Source] = []
    for voice in synthesiser.voices:
        for text in texts:
            rng = np.random.default_rng(seed_for(seed, "tts", voice.speaker, text.text_id))
            prosody = Prosody(rate=float(rng.uniform(0.9, 1.1)), pitch=float(rng.uniform(-1, 1)))
            peak_db = float(rng.uniform(*SPOOF_PEAK_DB))
            tts_seed = int(rng.integers(2**31))

            render = partial(
                _synthesised, synthesiser, voice, text.text, prosody, peak_db, tts_seed
            )
            planned.append(
                Source(
                    label="spoof",
                    system=voice.system,
                    family=voice.family,
                    speaker=voice.speaker,
                    text_id=text.text_id,
                    name=f"{_slug(voice.name)}-{text.text_id}",
                    render=render,
                )
            )
    return planned


def _replayed(source: Source, clip_seed: int) -> Audio:
    return replay(source.render(), seed=clip_seed)


def _synthesised(
    synthesiser: Synthesiser,
    voice: Voice,
    text: str,
    prosody: Prosody,
    peak_db: float,
    tts_seed: int,
) -> Audio:
    spoken = synthesiser.synthesise(voice, text, prosody=prosody, seed=tts_seed)
    return _at_peak(spoken, peak_db)


def _at_peak(audio: Audio, peak_db: float) -> Audio:
    peak = float(np.max(np.abs(audio.samples)))
    gain = 10.0 ** (peak_db / 20.0) / peak if peak > 0 else 1.0
    return Audio(samples=audio.samples * np.float32(gain), sample_rate=audio.sample_rate)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]", "-", text)
