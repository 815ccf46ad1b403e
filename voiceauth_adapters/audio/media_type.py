"""Content types of uploads: which decoder path, and the rate and channels raw audio declares."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from voiceauth_core.errors import AudioProcessingError

__all__ = ["MediaType", "RawEncoding"]


class RawEncoding(Enum):
    """Headerless sample formats; their rate must come with the content type."""

    MULAW = "mulaw"  # G.711 mu-law, one byte a sample
    PCM16LE = "pcm16le"  # signed 16-bit little-endian
    PCM16BE = "pcm16be"  # signed 16-bit big-endian (L16, RFC 2586 / RFC 3551)


_RAW: dict[str, RawEncoding] = {
    "audio/basic": RawEncoding.MULAW,
    "audio/pcmu": RawEncoding.MULAW,
    "audio/mulaw": RawEncoding.MULAW,
    "audio/x-mulaw": RawEncoding.MULAW,
    "audio/ulaw": RawEncoding.MULAW,
    "audio/x-ulaw": RawEncoding.MULAW,
    "audio/l16": RawEncoding.PCM16BE,
    "audio/pcm": RawEncoding.PCM16LE,
    "audio/x-pcm": RawEncoding.PCM16LE,
    "audio/s16le": RawEncoding.PCM16LE,
}
# mu-law without a rate is telephone audio: 8 kHz (RFC 2046 for audio/basic, RFC 3551 for PCMU).
_DEFAULT_RATE = {RawEncoding.MULAW: 8000}

# The ffmpeg demuxer to force for a content type; anything else is probed.
_FFMPEG_FORMATS = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "application/ogg": "ogg",
    "audio/webm": "matroska",
    "video/webm": "matroska",
    "audio/x-matroska": "matroska",
    "audio/aac": "aac",
    "audio/aacp": "aac",
    "audio/x-aac": "aac",
    "audio/mp4": "mov",
    "audio/m4a": "mov",
    "audio/x-m4a": "mov",
    "video/mp4": "mov",
    "audio/3gpp": "mov",
    "video/quicktime": "mov",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
}
# Containers soundfile cannot read: straight to ffmpeg.
_FFMPEG_ONLY = {"aac", "mov", "matroska"}

_MIN_RATE, _MAX_RATE = 4000, 384_000
_MAX_CHANNELS = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaType:
    """A parsed ``Content-Type``: ``audio/pcm;rate=16000;channels=2`` and the like.

    Args:
        kind: The lower-case type and subtype (empty when none was given).
        params: The parameters, keys lower-case.
    """

    kind: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, content_type: str | None) -> MediaType:
        """Parse a header value; None or an empty string gives the empty type (probe the bytes)."""
        if not content_type:
            return cls()
        kind, *rest = (part.strip() for part in content_type.split(";"))
        params = {}
        for param in rest:
            key, _, value = param.partition("=")
            if key.strip():
                params[key.strip().lower()] = value.strip().strip('"')
        return cls(kind=kind.lower(), params=params)

    @property
    def raw(self) -> RawEncoding | None:
        """The headerless encoding this type names, if any."""
        return _RAW.get(self.kind)

    @property
    def ffmpeg_format(self) -> str | None:
        """The ffmpeg demuxer to force, when the type names a known container."""
        return _FFMPEG_FORMATS.get(self.kind)

    @property
    def ffmpeg_only(self) -> bool:
        """Whether soundfile cannot read this container (MP4/M4A, raw AAC, WebM)."""
        return self.ffmpeg_format in _FFMPEG_ONLY

    def raw_layout(self) -> tuple[int, int]:
        """The declared sample rate and channel count of raw audio.

        Raises:
            AudioProcessingError: The rate is missing (where no default exists) or out of range.
        """
        encoding = self.raw
        default = _DEFAULT_RATE.get(encoding) if encoding else None
        rate_text = self.params.get("rate")
        if rate_text is None and default is None:
            raise AudioProcessingError(
                f"raw audio ({self.kind}) needs its sample rate declared, e.g. "
                f"'{self.kind};rate=16000'",
                reason="undecodable",
            )
        try:
            rate = int(rate_text) if rate_text is not None else int(default or 0)
            channels = int(self.params.get("channels", "1"))
        except ValueError:
            raise AudioProcessingError(
                "the declared rate or channel count is not a number", reason="undecodable"
            ) from None
        if not _MIN_RATE <= rate <= _MAX_RATE or not 1 <= channels <= _MAX_CHANNELS:
            raise AudioProcessingError(
                f"unsupported raw audio layout: {rate} Hz, {channels} channels",
                reason="undecodable",
            )
        return rate, channels
