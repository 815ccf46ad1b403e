"""A labelled folder of audio: each file's speaker read from its path by a pattern."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from voiceauth_core.errors import InvalidInputError

__all__ = ["AUDIO_SUFFIXES", "Clip", "read_corpus"]

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".m4a", ".webm"})


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Clip:
    """One labelled recording.

    Args:
        speaker: Who speaks in it.
        path: Where it is.
    """

    speaker: str
    path: Path


def read_corpus(
    root: Path, *, pattern: str, speakers: str | None = None, limit_speakers: int | None = None
) -> list[Clip]:
    """The audio files under ``root`` with their speakers, sorted by speaker and path.

    Args:
        root: The folder (searched recursively).
        pattern: A regular expression searched in each file's path relative to ``root``
            (``/``-separated); its group ``speaker`` (or its first group) names the speaker.
            Files it does not match are left out.
        speakers: Keep only speakers whose label fully matches this regular expression (a fixed
            split rule such as ``.*[7-9]`` for ids ending in 7, 8 or 9).
        limit_speakers: Keep only the first this many speakers, in sorted order.

    Raises:
        InvalidInputError: The folder is missing, a pattern is malformed or has no group, or no
            file matches.
    """
    if not root.is_dir():
        raise InvalidInputError(f"{root} is not a folder")
    try:
        compiled = re.compile(pattern)
        keep = re.compile(speakers) if speakers else None
    except re.error as exc:
        raise InvalidInputError(f"bad speaker pattern: {exc}") from exc
    if compiled.groups == 0:
        raise InvalidInputError("the speaker pattern needs a group, e.g. (?P<speaker>[^_]+)")
    clips: list[Clip] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        match = compiled.search(path.relative_to(root).as_posix())
        if match is None:
            continue
        speaker = match.group("speaker") if "speaker" in compiled.groupindex else match.group(1)
        if speaker and (keep is None or keep.fullmatch(speaker)):
            clips.append(Clip(speaker=speaker, path=path))
    if limit_speakers is not None:
        chosen = sorted({clip.speaker for clip in clips})[:limit_speakers]
        clips = [clip for clip in clips if clip.speaker in chosen]
    if not clips:
        raise InvalidInputError(f"no audio file under {root} matches {pattern!r}")
    return sorted(clips)
