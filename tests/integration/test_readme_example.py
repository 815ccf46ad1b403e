"""The README's library example runs as it stands, with the real model, and accepts its speaker."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.integration.real_model import REPOSITORY

pytestmark = pytest.mark.integration


def _library_example() -> str:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use it as a library", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the README's library section has no python block"
    return match.group(1)


def test_the_readme_library_example_enrols_and_accepts_the_same_speaker() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _library_example()],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("accept Score(calibrated="), run.stdout
