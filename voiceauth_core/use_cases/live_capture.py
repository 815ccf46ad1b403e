"""A live call read in a task of its own, so that each check of it takes the newest audio.

A verification scores a live call every ``check_every_s`` of new audio, and a check may wait for
a busy worker pool for seconds. Read in step with the checks, the call would fall behind: audio
piles up in the socket, and each check scores one more second of stale audio, one after the
other, long after the caller said more. ``LiveCapture`` reads the call while checks wait or run,
so that the next check takes everything that arrived since the last one (the checks coalesce):
at most one check per call is ever in flight, and it covers the newest audio.

When nobody is checking, reading pauses where a check is due until the waiting check has taken
the audio: a source faster than real time (a test's, a backlog heard at once) is checked at the
same points as if it were read in step.
"""

from __future__ import annotations

import asyncio
import math
from contextlib import aclosing
from types import TracebackType
from typing import Self

from voiceauth_core.audio import Audio
from voiceauth_core.ports import AudioSource

__all__ = ["LiveCapture"]


class LiveCapture:
    """The audio of a live ``source``, read ahead of its consumer, at most ``max_audio_s``.

    Use as an async context manager: reading starts on entry; on exit it stops and the source's
    stream is closed (a decided call costs nothing more).

    Args:
        source: A live source (its stream is read once).
        max_audio_s: Stop reading after this much audio (the last chunk cut to fit).
    """

    def __init__(self, source: AudioSource, *, max_audio_s: float) -> None:
        self._source = source
        self._max_s = max_audio_s
        self._chunks: list[Audio] = []
        self._taken = 0
        self._due = math.inf
        self._wake = asyncio.Event()
        self._resume = asyncio.Event()
        self._resume.set()
        self._failure: Exception | None = None
        self._reader: asyncio.Task[None] | None = None
        self.heard_s = 0.0
        self.ended = False

    async def __aenter__(self) -> Self:
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            # ``wait`` neither raises the reader's cancellation nor swallows our own.
            await asyncio.wait([reader])

    async def until(self, heard_s: float) -> None:
        """Return once ``heard_s`` seconds are heard, or the source has ended.

        Raises:
            CaptureError, AudioDownloadError: The source failed before ``heard_s`` was heard
                (audio heard before the failure is taken first, when it was due).
        """
        if self.heard_s < heard_s and not self.ended:
            self._due = heard_s
            self._wake.clear()
            try:
                await self._wake.wait()
            finally:
                self._due = math.inf
        if self.heard_s < heard_s:
            self.raise_failure()

    def raise_failure(self) -> None:
        """Raise the source's failure, if it failed.

        Raises:
            CaptureError, AudioDownloadError: How the source failed.
        """
        if self._failure is not None:
            raise self._failure

    def take(self) -> list[Audio]:
        """The chunks heard since the last take; reading goes on."""
        new = self._chunks[self._taken :]
        self._taken = len(self._chunks)
        self._resume.set()
        return new

    async def _read(self) -> None:
        try:
            async with aclosing(self._source.stream()) as stream:
                async for chunk in stream:
                    room = self._max_s - self.heard_s
                    self._chunks.append(chunk.slice(0, room) if chunk.duration > room else chunk)
                    self.heard_s = min(self._max_s, self.heard_s + chunk.duration)
                    if self.heard_s >= self._max_s:
                        break
                    if self.heard_s >= self._due:  # a check waits for this: let it take it
                        self._resume.clear()
                        self._wake.set()
                        await self._resume.wait()
        except Exception as exc:  # noqa: BLE001 - any failure is the consumer's, raised by until
            self._failure = exc
        finally:
            self.ended = True
            self._wake.set()
