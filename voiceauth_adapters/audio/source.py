"""A recording in a local file as an ``AudioSource``, for the command line and library users."""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncGenerator
from pathlib import Path

from voiceauth_core.audio import Audio
from voiceauth_core.errors import AudioProcessingError
from voiceauth_core.ports import AudioDecoder

__all__ = ["FileAudioSource"]


class FileAudioSource:
    """Reads and decodes one file; ``stream`` yields it in one-second chunks."""

    def __init__(self, path: Path | str, decoder: AudioDecoder, *, chunk_s: float = 1.0) -> None:
        self._path = Path(path)
        self._decoder = decoder
        self._chunk_s = chunk_s

    @property
    def channel(self) -> str:
        """``file``."""
        return "file"

    @property
    def live(self) -> bool:
        """A file is a recording, not a live capture."""
        return False

    async def fetch(self) -> Audio:
        """The decoded file.

        Raises:
            AudioProcessingError: The file cannot be read or decoded.
        """
        try:
            data = await asyncio.to_thread(self._path.read_bytes)
        except OSError as exc:
            raise AudioProcessingError(
                f"cannot read {self._path.name}", reason="unreadable"
            ) from exc
        content_type, _ = mimetypes.guess_type(self._path.name)
        return await self._decoder.decode(data, content_type=content_type)

    async def stream(self) -> AsyncGenerator[Audio, None]:
        """The decoded file in chunks."""
        audio = await self.fetch()
        start = 0.0
        while start < audio.duration:
            yield audio.slice(start, start + self._chunk_s)
            start += self._chunk_s
