"""The ECAPA-TDNN adapter: equal to plain SpeechBrain, separates real speakers, verified files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.contract.embedding_model_contract import EmbeddingModelContract
from tests.integration.real_model import cache_dir, ecapa, speech
from voiceauth_adapters.speechbrain import (
    MODEL_ID,
    ModelIntegrityError,
    ModelUnavailableError,
    SpeechBrainEcapa,
    cached_model_dir,
    resolve_model,
)
from voiceauth_core import Audio

pytestmark = pytest.mark.integration


class TestSpeechBrainEcapa(EmbeddingModelContract):
    @pytest.fixture
    def model(self) -> SpeechBrainEcapa:
        return ecapa()

    @pytest.fixture
    def voice_a1(self) -> Audio:
        return speech("103_a")

    @pytest.fixture
    def voice_a2(self) -> Audio:
        return speech("103_b")

    @pytest.fixture
    def voice_b(self) -> Audio:
        return speech("1098_b")


async def test_parity_with_plain_speechbrain_encode_batch() -> None:
    model = ecapa()
    for name in ("103_a", "1088_b", "1098_a"):
        clip = speech(name)
        ours = (await model.embed(clip)).vector
        with torch.inference_mode():
            plain = model._encoder.encode_batch(torch.from_numpy(np.array(clip.samples))[None])
        reference = plain.squeeze().numpy().astype(np.float64)
        cosine = float(ours @ reference / np.linalg.norm(reference))
        assert cosine >= 0.9999, (name, cosine)


def test_a_padded_batch_matches_single_calls() -> None:
    model = ecapa()
    clips = [speech("103_a").samples, speech("1088_a").samples[:40000]]
    together = model.embed_batch(clips)
    for row, clip in enumerate(clips):
        alone = model.embed_batch([clip])[0]
        assert float(together[row] @ alone) >= 0.999


async def test_same_speakers_outscore_different_speakers_on_real_speech() -> None:
    model = ecapa()
    names = ["103_a", "103_b", "1088_a", "1088_b", "1098_a", "1098_b"]
    vectors = {name: await model.embed(speech(name)) for name in names}
    genuine = [vectors[f"{s}_a"].cosine(vectors[f"{s}_b"]) for s in ("103", "1088", "1098")]
    impostor = [
        vectors[a].cosine(vectors[b]) for a in names for b in names if a[:-2] != b[:-2] and a < b
    ]
    assert min(genuine) > max(impostor) + 0.2
    assert all(e.model_id == MODEL_ID for e in vectors.values())


def test_provisioning_refuses_a_tampered_file(tmp_path: Path) -> None:
    source = cached_model_dir(cache_dir())
    copy = tmp_path / "model"
    shutil.copytree(source, copy)
    resolved = resolve_model(model_dir=copy, cache_dir=tmp_path / "cache", allow_download=False)
    assert resolved.source == "VOICEAUTH_MODEL_DIR"
    with (copy / "classifier.ckpt").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelIntegrityError, match=r"classifier\.ckpt"):
        resolve_model(model_dir=copy, cache_dir=tmp_path / "cache", allow_download=False)
    with pytest.raises(ModelIntegrityError):
        SpeechBrainEcapa.load(copy)


def test_an_empty_cache_without_downloads_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="voiceauth model fetch"):
        resolve_model(model_dir=None, cache_dir=tmp_path, allow_download=False)


def test_loading_never_writes_into_the_model_folder(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(cached_model_dir(cache_dir()), copy)
    before = sorted(p.name for p in copy.iterdir())
    copy.chmod(0o555)
    try:
        SpeechBrainEcapa.load(copy, threads=1).close()
    finally:
        copy.chmod(0o755)
    assert sorted(p.name for p in copy.iterdir()) == before
