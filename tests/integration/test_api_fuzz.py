"""Schemathesis against the service's own OpenAPI document: no 5xx, responses as documented.

The real app over HTTP with the core's fakes behind it; a bounded number of examples per
operation in `make test` (`VOICEAUTH_FUZZ_EXAMPLES`, default 25; `make fuzz` runs a longer pass).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.integration.running_app import served_app

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("VOICEAUTH_FUZZ_EXAMPLES", "25"))


def _serve() -> Iterator[str]:
    with served_app(Path(tempfile.mkdtemp(prefix="voiceauth-fuzz-"))) as base:
        yield base


_server = _serve()
BASE = next(_server)
schema = schemathesis.openapi.from_url(f"{BASE}/schema/openapi.json")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_never_fails_with_a_server_error(case: schemathesis.Case) -> None:
    response = case.call(base_url=BASE)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
