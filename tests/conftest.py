"""Suite-wide settings: hypothesis profiles and the CI rule that nothing skips silently."""

from __future__ import annotations

import os
import sys
from collections.abc import Generator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True)
settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def _drop_unloadable_lazy_modules() -> None:
    """Remove SpeechBrain's lazy modules whose optional dependency is missing (k2, ...).

    Hypothesis reads ``__file__`` of every module in ``sys.modules`` to collect constants; on such
    a lazy module that attribute raises ImportError instead of AttributeError, which breaks every
    property test run after SpeechBrain was imported. Dropping the entry is harmless: a real
    import of the module would try (and fail) again.
    """
    for name, module in list(sys.modules.items()):
        if type(module).__module__.startswith("speechbrain.utils.importutils"):
            try:
                getattr(module, "__file__", None)
            except ImportError:
                del sys.modules[name]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Keep ``sys.modules`` readable for hypothesis (see above)."""
    del item
    if "speechbrain" in sys.modules:
        _drop_unloadable_lazy_modules()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """In CI a skipped test is a failure: a test that is skipped in CI does not exist."""
    del item, call
    report = yield
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which counts as a failure: {report.longrepr}"
    return report
