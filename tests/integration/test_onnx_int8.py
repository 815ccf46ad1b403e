"""The int8 ONNX backend: a port, close to SpeechBrain on real speech, made without audio.

The service refuses it on an x86-64 CPU without VNNI; the network itself is measured here on any
CPU (``require_vnni=False``), and the refusal is tested against this CPU's flags.
"""

from __future__ import annotations

import functools
import json
import platform
from pathlib import Path

import pytest

from tests.contract.embedding_model_contract import EmbeddingModelContract
from tests.integration.real_model import RealVoices, ecapa, model_files, speech
from voiceauth_adapters.inference import BoundedInferencePool, backend_variant, load_embedder
from voiceauth_adapters.onnx import OnnxEcapa, onnx_path, quantized
from voiceauth_adapters.onnx.quantized import INT8_RANGES, ensure_int8_export, int8_path
from voiceauth_adapters.speechbrain import MODEL_ID, ModelUnavailableError

pytestmark = pytest.mark.integration

NAMES = ["103_a", "103_b", "1088_a", "1088_b", "1098_a", "1098_b"]


@pytest.fixture
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "onnx-int8-export"


@functools.cache
def int8_model(export_dir: Path) -> OnnxEcapa:
    return OnnxEcapa.load(
        model_files(), export_dir=export_dir, threads=2, int8=True, require_vnni=False
    )


def _cpuinfo() -> str | None:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return None


def test_the_service_runs_it_only_on_a_cpu_with_vnni(export_dir: Path) -> None:
    if quantized.int8_supported(platform.machine(), _cpuinfo()):
        loaded = OnnxEcapa.load(model_files(), export_dir=export_dir, threads=1, int8=True)
        assert loaded.model_id == MODEL_ID
    else:
        with pytest.raises(ModelUnavailableError, match="VNNI"):
            OnnxEcapa.load(model_files(), export_dir=export_dir, threads=1, int8=True)


class TestOnnxInt8Ecapa(RealVoices, EmbeddingModelContract):
    @pytest.fixture
    def model(self, export_dir: Path) -> BoundedInferencePool:
        return BoundedInferencePool(int8_model(export_dir), workers=1, queue_timeout=30.0)


@pytest.mark.parametrize("name", NAMES)
def test_close_to_speechbrain_on_real_speech(name: str, export_dir: Path) -> None:
    samples = speech(name).samples
    ours = int8_model(export_dir).embed_batch([samples])[0]
    reference = ecapa().embed_batch([samples])[0]
    # Close, not equal (8-bit activations): docs/performance.md measures 0.995 at worst.
    assert 0.99 <= float(ours @ reference) < 0.99999


def test_scores_keep_their_order(export_dir: Path) -> None:
    """Same speaker above other speakers, as with the fp32 model, by a wide margin."""
    model = int8_model(export_dir)
    a1, a2, b = (model.embed_batch([speech(n).samples])[0] for n in ("103_a", "103_b", "1088_a"))
    reference = ecapa()
    r1, r2 = (reference.embed_batch([speech(n).samples])[0] for n in ("103_a", "103_b"))
    assert float(a1 @ a2) > float(a1 @ b) + 0.3
    assert abs(float(a1 @ a2) - float(r1 @ r2)) < 0.02


def test_made_from_the_fp32_export_and_the_shipped_ranges_once(export_dir: Path) -> None:
    int8_model(export_dir)
    path = int8_path(export_dir)
    assert path.is_file()
    assert onnx_path(export_dir).is_file()
    assert quantized.ranges_digest() in path.name
    assert int8_model(export_dir).model_id == MODEL_ID
    before = path.stat().st_mtime_ns
    assert ensure_int8_export(model_files(), export_dir) == (path, False)
    assert path.stat().st_mtime_ns == before
    assert path.stat().st_mode & 0o777 == 0o644
    assert not list(export_dir.glob("*.part"))


def test_the_backend_is_selectable_and_has_its_own_cache_name(tmp_path: Path) -> None:
    if quantized.int8_supported(platform.machine(), _cpuinfo()):
        model = load_embedder("onnx-int8", model_files(), cache_dir=tmp_path, threads=1)
        assert isinstance(model, OnnxEcapa)
    else:  # selected, and refused in one line on this CPU
        with pytest.raises(ModelUnavailableError, match="VNNI"):
            load_embedder("onnx-int8", model_files(), cache_dir=tmp_path, threads=1)
    assert backend_variant("onnx-int8") != backend_variant("onnx")
    assert quantized.ranges_digest() in backend_variant("onnx-int8")


def test_ranges_that_miss_a_tensor_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = json.loads(INT8_RANGES.read_text())
    dropped = next(
        name for name in shipped["data"] if name.endswith("tdnn1/conv/conv/Conv_output_0")
    )
    del shipped["data"][dropped]
    partial = tmp_path / "ranges.json"
    partial.write_text(json.dumps(shipped))
    monkeypatch.setattr(quantized, "INT8_RANGES", partial)
    with pytest.raises(ModelUnavailableError, match="miss 1 tensors"):
        ensure_int8_export(model_files(), tmp_path / "export")
    assert not list((tmp_path / "export").glob("*int8*"))
