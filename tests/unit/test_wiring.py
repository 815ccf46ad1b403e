"""One composition root: the service, the eval tool and the library give use cases the same ports.

A port added to a use case but wired in only one of them (say the container) leaves it ``None``
in the others; these tests then fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.web.app_harness import fake_container
from voiceauth_adapters.evaluation.runner import Condition, Evaluator
from voiceauth_adapters.pipeline import LocalPipeline, identify_use_case
from voiceauth_core.testing import (
    InMemoryAttemptLog,
    InMemoryStore,
    InMemoryUserRepository,
    InMemoryVoiceprintIndex,
    ManualClock,
)
from voiceauth_core.use_cases import Enroll, Verify
from voiceauth_web import wiring

pytestmark = pytest.mark.unit


#: The fraud watchlist's ports: the service's own, over its database (the eval tool measures
#: verification without a watchlist; a library user passes one to the pipeline's builders).
SERVICE_ONLY = frozenset({"_screen", "_probe_retention"})


def held(use_case: Enroll | Verify) -> set[str]:
    """The ports and rules a use case was given (those left ``None`` are missing), but the
    service's own (:data:`SERVICE_ONLY`)."""
    return {
        name
        for name, value in vars(use_case).items()
        if value is not None and name not in SERVICE_ONLY
    }


def _three_ways(tmp_path: Path) -> list[tuple[Enroll, Verify]]:
    container = fake_container(tmp_path)
    settings, adapters = container.settings(), container.adapters
    engine = adapters.engine()
    store = InMemoryStore()
    users, attempts = InMemoryUserRepository(store), InMemoryAttemptLog(store)
    service = (container.use_cases.enroll(), container.use_cases.verify())
    evaluator = Evaluator(
        engine=engine,
        decoder=adapters.decoder(),
        gate=wiring.quality_gate(settings),
        plan=wiring.capture_plan(settings),
        condition=Condition(),
    )
    library = LocalPipeline(
        engine=engine,
        decoder=adapters.decoder(),
        gate=wiring.quality_gate(settings),
        plan=wiring.capture_plan(settings),
    )
    return [
        service,
        evaluator.use_cases(users=users, attempts=attempts),
        (
            library.enroll(users=users, clock=ManualClock()),
            library.verify(users=users, attempts=attempts, clock=ManualClock()),
        ),
    ]


def test_the_service_the_eval_tool_and_the_library_give_the_same_ports(tmp_path: Path) -> None:
    (enroll, verify), *others = _three_ways(tmp_path)
    assert "_telephone" in held(enroll)  # the phone-band twin is wired in the service
    assert vars(enroll)["_screen"] is vars(verify)["_screen"] is not None  # the watchlist's
    assert vars(verify)["_probe_retention"] is not None
    for other_enroll, other_verify in others:
        assert held(other_enroll) == held(enroll)
        assert held(other_verify) == held(verify)


def test_the_service_runs_its_use_cases_over_the_engine_it_instruments(tmp_path: Path) -> None:
    container = fake_container(tmp_path)
    engine = container.adapters.engine()
    enroll, verify = container.use_cases.enroll(), container.use_cases.verify()
    assert vars(enroll)["_model"] is engine.model is container.adapters.model()
    assert vars(verify)["_policy"] is engine.policy
    assert vars(verify)["_detector"] is engine.detector is vars(enroll)["_detector"]
    assert vars(verify)["_plan"] == wiring.capture_plan(container.settings())


def test_the_service_and_the_eval_tool_identify_over_the_same_ports(tmp_path: Path) -> None:
    container = fake_container(tmp_path)
    settings, adapters = container.settings(), container.adapters
    engine = adapters.engine()
    service = container.use_cases.identify()
    evaluated = identify_use_case(  # as voiceauth_adapters.evaluation.identification builds it
        engine,
        users=InMemoryUserRepository(),
        index=InMemoryVoiceprintIndex(engine.model.model_id),
        rule=adapters.open_set(),
        gate=wiring.quality_gate(settings),
        plan=wiring.capture_plan(settings),
    )
    assert vars(service)["_screen"] is adapters.screen()  # the watchlist, the service's own
    assert held(service) == held(evaluated)  # type: ignore[arg-type]
    assert vars(service)["_index"] is adapters.index()
    assert vars(service)["_policy"] is engine.policy
    assert vars(service)["_model"] is engine.model is adapters.model()
