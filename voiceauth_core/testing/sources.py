"""An audio source over audio already in memory, with knobs for failures."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from voiceauth_core.audio import Audio
from voiceauth_core.errors import VoiceAuthError

__all__ = ["InMemoryAudioSource"]


class InMemoryAudioSource:
    """Serves one recording whole or in chunks.

    Args:
        audio: The recording (at 16 kHz).
        channel: The channel name it reports.
        live: Whether it behaves as a live capture.
        chunk_s: Chunk length for :meth:`stream` (20 ms, like a call's frames).
        error: Raised by :meth:`fetch`, or by :meth:`stream` after ``error_after_s`` of audio.
        error_after_s: Audio served before ``error`` is raised from the stream.
    """

    def __init__(
        self,
        audio: Audio,
        *,
        channel: str = "upload",
        live: bool = False,
        chunk_s: float = 0.02,
        error: VoiceAuthError | None = None,
        error_after_s: float = 0.0,
    ) -> None:
        self._audio = audio
        self._channel = channel
        self._live = live
        self._chunk_s = chunk_s
        self._error = error
        self._error_after_s = error_after_s
        self.served_s = 0.0
        self.closed = False

    @property
    def channel(self) -> str:
        """The configured channel name."""
        return self._channel

    @property
    def live(self) -> bool:
        """Whether this source behaves as a live capture."""
        return self._live

    async def fetch(self) -> Audio:
        """The whole recording, or the configured error."""
        if self._error is not None:
            raise self._error
        self.served_s = self._audio.duration
        return self._audio

    async def stream(self) -> AsyncGenerator[Audio, None]:
        """Chunks of ``chunk_s``; the configured error after ``error_after_s``."""
        try:
            start = 0.0
            while start < self._audio.duration:
                if self._error is not None and start >= self._error_after_s:
                    raise self._error
                chunk = self._audio.slice(start, start + self._chunk_s)
                self.served_s += chunk.duration
                start += self._chunk_s
                yield chunk
            if self._error is not None:
                raise self._error
        finally:
            self.closed = True
