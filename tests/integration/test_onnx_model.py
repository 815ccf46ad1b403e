"""The ONNX backend: equal to SpeechBrain on real speech, exported once per checkpoint, a port."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest

from tests.contract.embedding_model_contract import EmbeddingModelContract
from tests.integration.real_model import RealVoices, ecapa, model_files, speech
from voiceauth_adapters.inference import BoundedInferencePool
from voiceauth_adapters.onnx import OnnxEcapa, export_dir_for, onnx_path
from voiceauth_adapters.onnx.ecapa import GRAPH_VERSION
from voiceauth_adapters.speechbrain import MODEL_ID, OFFICIAL_SHA256

pytestmark = pytest.mark.integration

NAMES = ["103_a", "103_b", "1088_a", "1088_b", "1098_a", "1098_b"]


@functools.cache
def onnx_model(export_dir: Path) -> OnnxEcapa:
    return OnnxEcapa.load(model_files(), export_dir=export_dir, threads=2)


@pytest.fixture
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "onnx-export"


class TestOnnxEcapa(RealVoices, EmbeddingModelContract):
    @pytest.fixture
    def model(self, export_dir: Path) -> BoundedInferencePool:
        return BoundedInferencePool(onnx_model(export_dir), workers=1, queue_timeout=30.0)


@pytest.mark.parametrize("name", NAMES)
def test_parity_with_speechbrain_on_real_speech(name: str, export_dir: Path) -> None:
    samples = speech(name).samples
    ours = onnx_model(export_dir).embed_batch([samples])[0]
    reference = ecapa().embed_batch([samples])[0]
    assert float(ours @ reference) >= 0.9999


def test_parity_holds_across_lengths(export_dir: Path) -> None:
    """The exported time axis is dynamic: 0.5 s to 21 s all match the reference."""
    joined = np.concatenate([speech(name).samples for name in NAMES[:3]])
    for seconds in (0.5, 1.3, 3.0, 21.0):
        samples = joined[: int(seconds * 16000)]
        ours = onnx_model(export_dir).embed_batch([samples])[0]
        reference = ecapa().embed_batch([samples])[0]
        assert float(ours @ reference) >= 0.9999, seconds


def test_the_export_is_named_by_the_checkpoint_digest_and_reused(export_dir: Path) -> None:
    onnx_model(export_dir)
    path = onnx_path(export_dir)
    assert OFFICIAL_SHA256["embedding_model.ckpt"][:16] in path.name
    assert path.is_file()
    before = path.stat().st_mtime_ns
    OnnxEcapa.load(model_files(), export_dir=export_dir, threads=1)
    assert path.stat().st_mtime_ns == before
    assert not list(export_dir.glob("*.part"))
    # Made as root at an image's build, read by the service's own user: readable by all.
    assert path.stat().st_mode & 0o777 == 0o644


def test_an_export_of_an_older_graph_is_replaced_and_removed(tmp_path: Path) -> None:
    digest = OFFICIAL_SHA256["embedding_model.ckpt"][:16]
    older = tmp_path / f"ecapa-embedding-{digest}.onnx"  # version 1 had no graph version
    older.write_bytes(b"an export of the unfolded graph")
    OnnxEcapa.load(model_files(), export_dir=tmp_path, threads=1)
    assert onnx_path(tmp_path).name.endswith(f"-g{GRAPH_VERSION}.onnx")
    assert onnx_path(tmp_path).is_file()
    assert not older.exists()


def test_a_damaged_export_is_replaced(tmp_path: Path) -> None:
    path = onnx_path(tmp_path)
    path.write_bytes(b"not an onnx model")
    model = OnnxEcapa.load(model_files(), export_dir=tmp_path, threads=1)
    assert path.stat().st_size > 1_000_000
    assert model.model_id == MODEL_ID
    vector = model.embed_batch([speech("103_a").samples])[0]
    assert float(vector @ ecapa().embed_batch([speech("103_a").samples])[0]) >= 0.9999


def test_the_export_sits_next_to_writable_model_files(tmp_path: Path) -> None:
    assert export_dir_for(tmp_path, tmp_path / "cache") == tmp_path


def test_an_export_made_at_build_time_is_read_beside_read_only_model_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in the image: fetched and exported as root, served as another user on a read-only
    # file system (root passes any permission check here, so the folder's answer is forced).
    real_access = os.access
    monkeypatch.setattr(
        os,
        "access",
        lambda path, mode: False if Path(path) == tmp_path else real_access(path, mode),
    )
    assert export_dir_for(tmp_path, tmp_path / "cache") == tmp_path / "cache" / "onnx"
    onnx_path(tmp_path).write_bytes(b"exported at build time")
    assert export_dir_for(tmp_path, tmp_path / "cache") == tmp_path
