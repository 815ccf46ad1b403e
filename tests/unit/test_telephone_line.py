"""The simulated G.711 line passes the TelephoneChannel contract; it is the eval's phone line."""

from __future__ import annotations

import numpy as np
import pytest

from tests.contract.telephone_channel_contract import TelephoneChannelContract
from voiceauth_adapters.audio import G711Line, phone_channel
from voiceauth_core.testing import synthetic_voice

pytestmark = pytest.mark.unit


class TestG711Line(TelephoneChannelContract):
    @pytest.fixture
    def line(self) -> G711Line:
        return G711Line()


async def test_the_line_is_the_channel_the_calibration_was_measured_with() -> None:
    voice = synthetic_voice(seconds=2.0, seed=4)
    heard = await G711Line().transmit(voice)
    np.testing.assert_array_equal(heard.samples, phone_channel(voice).samples)
