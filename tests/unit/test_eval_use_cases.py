"""The eval tool runs the service's own use cases: the ports the composition root gives them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import voiceauth_adapters
from voiceauth_adapters.evaluation.runner import Condition, Evaluator
from voiceauth_core.scoring import CosinePolicy
from voiceauth_core.testing import (
    EnergySpeechDetector,
    InMemoryAttemptLog,
    InMemoryStore,
    InMemoryUserRepository,
    LowPassLine,
    ManualClock,
    SpectralEmbeddingModel,
    WaveDecoder,
)
from voiceauth_core.use_cases import Enroll, Verify
from voiceauth_web import wiring
from voiceauth_web.settings import Settings

pytestmark = pytest.mark.unit


def ports(use_case: Enroll | Verify) -> dict[str, object]:
    """Every port and rule a use case holds but its clock (the eval runs on a manual one) and
    how long probes are kept for fraud reports (the eval's attempts are never reported)."""
    kept_apart = {"_clock", "_probe_retention"}
    return {name: value for name, value in vars(use_case).items() if name not in kept_apart}


def service_and_eval(
    condition: Condition,
) -> tuple[tuple[Enroll, Verify], tuple[Enroll, Verify], wiring.Engine]:
    """The service's use cases and the evaluator's, over one engine and one pair of stores."""
    settings = Settings()
    engine = wiring.engine(
        settings,
        spoof=None,
        model=SpectralEmbeddingModel(),
        detector=EnergySpeechDetector(),
        policy=CosinePolicy(threshold=settings.voice_threshold),
        telephone=LowPassLine(),
    )
    store = InMemoryStore()
    users, attempts = InMemoryUserRepository(store), InMemoryAttemptLog(store)
    service = (
        wiring.enroll(settings, engine, users=users, clock=ManualClock()),
        wiring.verify(settings, engine, users=users, attempts=attempts, clock=ManualClock()),
    )
    evaluator = Evaluator(
        engine=engine,
        decoder=WaveDecoder(),
        gate=wiring.quality_gate(settings),
        plan=wiring.capture_plan(settings),
        condition=condition,
    )
    return service, evaluator.use_cases(users=users, attempts=attempts), engine


def test_the_evaluator_enrols_and_verifies_with_the_services_ports() -> None:
    (enroll, verify), (eval_enroll, eval_verify), engine = service_and_eval(Condition())
    assert ports(eval_enroll) == ports(enroll)
    assert ports(eval_verify) == ports(verify)
    assert vars(eval_enroll)["_telephone"] is engine.telephone


def test_without_the_phone_band_only_the_line_is_left_out() -> None:
    (enroll, verify), (eval_enroll, eval_verify), _ = service_and_eval(Condition(phone_band=False))
    assert ports(eval_enroll) == {**ports(enroll), "_telephone": None}
    assert ports(eval_verify) == ports(verify)


def test_no_adapter_imports_the_test_fakes() -> None:
    """Production code runs on ``voiceauth_core.memory``; the fakes are for tests."""
    root = Path(voiceauth_adapters.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("voiceauth_core.testing"), path
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("voiceauth_core.testing"), path
