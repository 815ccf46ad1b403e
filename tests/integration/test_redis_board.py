"""The Redis decision board passes the board's contract against the real Redis at 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.contract.decision_board_contract import DecisionBoardContract
from voiceauth_adapters.redis import RedisDecisionBoard
from voiceauth_core import StorageUnavailableError

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/8"


class TestRedisDecisionBoard(DecisionBoardContract):
    @pytest.fixture
    async def board(self) -> AsyncIterator[RedisDecisionBoard]:
        board = RedisDecisionBoard(REDIS_URL, prefix="voiceauth-test:call")
        yield board
        await board.close()


async def test_an_unreachable_redis_is_storage_unavailable() -> None:
    board = RedisDecisionBoard("redis://127.0.0.1:1/0")
    with pytest.raises(StorageUnavailableError):
        await board.holder("call-1")
    await board.close()
