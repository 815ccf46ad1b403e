"""The contract every DecisionBoard passes: the in-memory board and the Redis adapter.

Subclass :class:`DecisionBoardContract` and provide the fixture ``board`` (an empty board).
"""

from __future__ import annotations

import asyncio
import time
import uuid

from voiceauth_core import Decision
from voiceauth_core.call_board import CallAnswer, CallAsk
from voiceauth_core.ports import DecisionBoard


def _call() -> str:
    return f"call-{uuid.uuid4()}"


class DecisionBoardContract:
    async def test_is_a_decision_board(self, board: DecisionBoard) -> None:
        assert isinstance(board, DecisionBoard)

    async def test_the_first_holder_keeps_the_call(self, board: DecisionBoard) -> None:
        call = _call()
        assert await board.holder(call) is None
        assert await board.hold(call, "a", ttl_s=30) == "a"
        assert await board.hold(call, "b", ttl_s=30) == "a"
        assert await board.hold(call, "a", ttl_s=30) == "a"  # renewed
        assert await board.holder(call) == "a"
        await board.release(call, "b")  # not the holder: nothing happens
        assert await board.holder(call) == "a"
        await board.release(call, "a")
        assert await board.holder(call) is None
        assert await board.hold(call, "b", ttl_s=30) == "b"

    async def test_a_hold_expires(self, board: DecisionBoard) -> None:
        call = _call()
        await board.hold(call, "a", ttl_s=1)
        await asyncio.sleep(1.3)
        assert await board.holder(call) is None
        assert await board.hold(call, "b", ttl_s=30) == "b"

    async def test_asks_reach_the_holder_in_order(self, board: DecisionBoard) -> None:
        call = _call()
        await board.hold(call, "a", ttl_s=30)
        first = CallAsk(ask_id="1", user_id=str(uuid.uuid4()), budget_s=5)
        second = CallAsk(ask_id="2", phone="+14155550123", budget_s=7.5)
        await board.ask(call, first)
        await board.ask(call, second)
        assert await board.next_ask(call, timeout_s=1) == first
        assert await board.next_ask(call, timeout_s=1) == second
        started = time.perf_counter()
        assert await board.next_ask(call, timeout_s=0.3) is None
        assert 0.25 <= time.perf_counter() - started < 2.0

    async def test_an_ask_about_a_call_nobody_holds_is_dropped(self, board: DecisionBoard) -> None:
        call = _call()
        await board.ask(call, CallAsk(ask_id="1", user_id="u"))
        await board.hold(call, "a", ttl_s=30)
        assert await board.next_ask(call, timeout_s=0.2) is None

    async def test_a_waiting_holder_gets_an_ask_at_once(self, board: DecisionBoard) -> None:
        call = _call()
        await board.hold(call, "a", ttl_s=30)
        ask = CallAsk(ask_id="x", user_id="u")
        waiting = asyncio.create_task(board.next_ask(call, timeout_s=5))
        await asyncio.sleep(0.1)
        started = time.perf_counter()
        await board.ask(call, ask)
        assert await waiting == ask
        assert time.perf_counter() - started < 1.5

    async def test_answers_are_read_and_waited_for(self, board: DecisionBoard) -> None:
        call = _call()
        await board.hold(call, "a", ttl_s=30)
        assert await board.read(call, "user:1") is None
        assert await board.wait(call, "user:1", timeout_s=0.2) is None
        answer = CallAnswer(sentence="Voice verified.", decision=Decision.ACCEPT)
        waiting = asyncio.create_task(board.wait(call, "ask-1", timeout_s=5))
        await asyncio.sleep(0.1)
        await board.post(call, "ask-1", answer)
        await board.post(call, "user:1", CallAnswer(sentence="unavailable"))
        assert await waiting == answer
        assert await board.read(call, "ask-1") == answer
        assert await board.wait(call, "user:1", timeout_s=1) == CallAnswer(sentence="unavailable")

    async def test_release_forgets_asks_and_answers(self, board: DecisionBoard) -> None:
        call = _call()
        await board.hold(call, "a", ttl_s=30)
        await board.ask(call, CallAsk(ask_id="1", user_id="u"))
        await board.post(call, "k", CallAnswer(sentence="s", decision=Decision.REJECT))
        await board.release(call, "a")
        await board.hold(call, "a", ttl_s=30)
        assert await board.read(call, "k") is None
        assert await board.next_ask(call, timeout_s=0.2) is None

    async def test_calls_are_apart(self, board: DecisionBoard) -> None:
        one, two = _call(), _call()
        await board.hold(one, "a", ttl_s=30)
        await board.hold(two, "b", ttl_s=30)
        await board.post(one, "k", CallAnswer(sentence="one"))
        assert await board.read(two, "k") is None
        assert await board.holder(two) == "b"
