"""Standard-library records from adapters and libraries come out as our JSON lines."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from loguru import logger

from tests.unit.web.app_harness import fake_app
from voiceauth_web.observability import configure_logging

pytestmark = pytest.mark.unit


@pytest.fixture
def json_logging() -> Iterator[None]:
    root, adapters = logging.getLogger(), logging.getLogger("voiceauth_adapters")
    handlers, level, adapters_level = list(root.handlers), root.level, adapters.level
    configure_logging("INFO")
    yield
    root.handlers, root.level = handlers, level
    adapters.setLevel(adapters_level)
    logger.remove()
    logger.add(sys.stderr)


async def test_library_records_stay_json_after_the_app_starts(
    tmp_path: Path, json_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    del json_logging
    async with AsyncTestClient(fake_app(tmp_path)) as client:
        assert (await client.get("/healthz")).status_code == 200
        # As SpeechBrain logs while the model loads at start-up.
        logging.getLogger("speechbrain.utils.fetching").info("Fetch hyperparams.yaml")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    fetched = [json.loads(line) for line in lines if "Fetch hyperparams.yaml" in line]
    assert fetched, lines
    assert fetched[0]["logger"] == "speechbrain.utils.fetching"
    assert all(line.startswith("{") for line in lines), lines


@pytest.mark.parametrize(("level", "shown"), [("DEBUG", True), ("INFO", False)])
def test_log_level_debug_reaches_the_adapters_records_but_not_the_libraries(
    json_logging: None, capsys: pytest.CaptureFixture[str], level: str, *, shown: bool
) -> None:
    del json_logging
    configure_logging(level)
    logging.getLogger("voiceauth_adapters.vapi").debug("adapter detail")
    logging.getLogger("aiohttp.client").debug("library detail")
    out = capsys.readouterr().out
    assert ("adapter detail" in out) is shown, out
    assert "library detail" not in out
