"""Hearing a caller: a recording checked whole and cut into steps, or a live call as it streams.

``Verify`` and ``Identify`` listen the same way; only what they do with each step differs.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING

from voiceauth_core.audio import Audio
from voiceauth_core.ports import AudioSource
from voiceauth_core.quality import QualityGate

if TYPE_CHECKING:
    from voiceauth_core.use_cases.verify import CapturePlan

__all__ = ["capture_chunks"]


async def capture_chunks(
    source: AudioSource, gate: QualityGate, plan: CapturePlan
) -> AsyncGenerator[Audio, None]:
    """A live source as it streams; a recording checked whole by ``gate``, then cut into steps
    of ``plan.check_every_s``.

    Raises:
        AudioProcessingError: The recording breaks the gate's limits (too long, ...).
        AudioDownloadError, CaptureError: The source's own failures.
    """
    if source.live:
        async with aclosing(source.stream()) as stream:
            async for chunk in stream:
                yield chunk
        return
    audio = await source.fetch()
    gate.check_recording(audio)
    step = plan.check_every_s
    for index in range(math.ceil(audio.duration / step)):
        yield audio.slice(index * step, (index + 1) * step)
