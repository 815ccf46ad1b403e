"""The contract every AudioSource passes: the in-memory fake, URL, upload and VAPI live sources.

Subclass :class:`AudioSourceContract` and provide the fixture ``make_source``: an async factory
that takes a 16 kHz recording and returns a fresh source that will deliver it (serving it from a
local HTTP or WebSocket server where the source is a network one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import aclosing

import numpy as np
import pytest

from voiceauth_core import CANONICAL_RATE, Audio
from voiceauth_core.ports import AudioSource
from voiceauth_core.testing import synthetic_voice

MakeSource = Callable[[Audio], Awaitable[AudioSource]]


def _similar(heard: Audio, sent: Audio) -> None:
    assert heard.sample_rate == CANONICAL_RATE
    assert heard.duration == pytest.approx(sent.duration, abs=0.05)
    n = min(len(heard.samples), len(sent.samples))
    correlation = np.corrcoef(heard.samples[:n], sent.samples[:n])[0, 1]
    assert correlation > 0.98


class AudioSourceContract:
    """Behaviour every audio source must show."""

    @pytest.fixture
    def recording(self) -> Audio:
        return synthetic_voice(seconds=2.0, seed=7)

    async def test_is_an_audio_source(self, make_source: MakeSource, recording: Audio) -> None:
        source = await make_source(recording)
        assert isinstance(source, AudioSource)
        assert isinstance(source.channel, str)
        assert source.channel
        assert isinstance(source.live, bool)

    async def test_fetch_returns_the_recording(
        self, make_source: MakeSource, recording: Audio
    ) -> None:
        source = await make_source(recording)
        _similar(await source.fetch(), recording)

    async def test_stream_delivers_the_recording_in_order(
        self, make_source: MakeSource, recording: Audio
    ) -> None:
        source = await make_source(recording)
        chunks = []
        async with aclosing(source.stream()) as stream:
            async for chunk in stream:
                assert chunk.sample_rate == CANONICAL_RATE
                chunks.append(chunk)
        assert len(chunks) >= 1
        _similar(Audio.concatenate(chunks), recording)

    async def test_stream_can_be_closed_early(
        self, make_source: MakeSource, recording: Audio
    ) -> None:
        source = await make_source(recording)
        async with aclosing(source.stream()) as stream:
            async for chunk in stream:
                assert chunk.duration > 0
                break
