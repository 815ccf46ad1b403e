"""The core's public surface: everything exported exists, and every public error is in the tree."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import voiceauth_core
from voiceauth_core import errors

pytestmark = pytest.mark.unit


def test_every_exported_name_exists() -> None:
    for name in voiceauth_core.__all__:
        assert hasattr(voiceauth_core, name), name


def test_every_core_module_declares_what_it_exports() -> None:
    for module_info in pkgutil.walk_packages(voiceauth_core.__path__, "voiceauth_core."):
        module = importlib.import_module(module_info.name)
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{module_info.name} has no __all__"
        for name in exported:
            assert hasattr(module, name), f"{module_info.name}.{name}"


def test_every_error_descends_from_the_root_and_keeps_its_public_name() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    for cls in classes:
        assert inspect.isclass(cls)
        assert issubclass(cls, errors.VoiceAuthError)
        assert cls("x").name == cls.__name__
    # The original service's error names, which clients match on, must survive.
    for original in ("AudioDownloadError", "AudioProcessingError", "UserNotFoundError"):
        assert original in errors.__all__
