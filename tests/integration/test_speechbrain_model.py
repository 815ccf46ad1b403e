"""The ECAPA-TDNN adapter: equal to plain SpeechBrain, separates real speakers, loads read-only."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.contract.embedding_model_contract import EmbeddingModelContract
from tests.integration.real_model import REPOSITORY, SPEECH, RealVoices, ecapa, model_files, speech
from voiceauth_adapters.audio import FfmpegSoundfileDecoder
from voiceauth_adapters.speechbrain import MODEL_ID, ModelIntegrityError, SpeechBrainEcapa
from voiceauth_core import AudioProcessingError

pytestmark = pytest.mark.integration

NAMES = ["103_a", "103_b", "1088_a", "1088_b", "1098_a", "1098_b"]


class TestSpeechBrainEcapa(RealVoices, EmbeddingModelContract):
    @pytest.fixture
    def model(self) -> SpeechBrainEcapa:
        return ecapa()


@functools.cache
def plain_speechbrain(savedir: Path) -> Any:
    """SpeechBrain used exactly as the model card says, offline, over a copy of the files."""
    from speechbrain.inference.speaker import EncoderClassifier

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")  # the files are in savedir: nothing may be fetched
        return EncoderClassifier.from_hparams(
            source="speechbrain/spkrec-ecapa-voxceleb", savedir=str(savedir)
        )


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Any:
    savedir = tmp_path_factory.mktemp("pretrained_models") / "spkrec-ecapa-voxceleb"
    shutil.copytree(model_files(), savedir)
    # A savedir as SpeechBrain fills it from the hub: the label encoder is saved as .ckpt.
    shutil.copy(savedir / "label_encoder.txt", savedir / "label_encoder.ckpt")
    return plain_speechbrain(savedir)


@pytest.mark.parametrize("name", ["103_a", "1088_b", "1098_a"])
async def test_parity_with_plain_speechbrain_encode_batch(plain: Any, name: str) -> None:
    # Ours: the file through the service's decoder, then the adapter. Plain: the samples as
    # [1, time] into encode_batch of an independently loaded EncoderClassifier.
    data = (SPEECH / f"{name}.flac").read_bytes()
    ours = await ecapa().embed(await FfmpegSoundfileDecoder().decode(data))
    with torch.inference_mode():
        signal = torch.from_numpy(np.array(speech(name).samples))[None]
        reference = plain.encode_batch(signal).squeeze().numpy().astype(np.float64)
    assert reference.shape == (192,)
    cosine = float(ours.vector @ reference / np.linalg.norm(reference))
    assert cosine >= 0.9999


def test_a_padded_batch_matches_single_calls() -> None:
    model = ecapa()
    clips = [speech("103_a").samples, speech("1088_a").samples[:40000]]
    together = model.embed_batch(clips)
    for row, clip in enumerate(clips):
        alone = model.embed_batch([clip])[0]
        assert float(together[row] @ alone) >= 0.999


async def test_same_speakers_outscore_different_speakers_on_real_speech() -> None:
    model = ecapa()
    vectors = {name: await model.embed(speech(name)) for name in NAMES}
    genuine = [vectors[f"{s}_a"].cosine(vectors[f"{s}_b"]) for s in ("103", "1088", "1098")]
    impostor = [
        vectors[a].cosine(vectors[b]) for a in NAMES for b in NAMES if a[:-2] != b[:-2] and a < b
    ]
    assert min(genuine) > 0.5
    assert min(genuine) > max(impostor) + 0.2
    assert all(e.model_id == MODEL_ID for e in vectors.values())


async def test_too_short_audio_is_refused() -> None:
    with pytest.raises(AudioProcessingError) as caught:
        await ecapa().embed(speech("103_a").slice(0, 0.05))
    assert caught.value.reason == "too_short"
    with pytest.raises(AudioProcessingError):
        ecapa().embed_batch([])


def test_the_model_id_names_the_weights() -> None:
    assert ecapa().model_id == "speechbrain/spkrec-ecapa-voxceleb@0575cb64"


def test_loading_never_writes_into_the_model_folder(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(model_files(), copy)
    before = sorted(p.name for p in copy.iterdir())
    copy.chmod(0o555)
    try:
        SpeechBrainEcapa.load(copy, threads=1).close()
    finally:
        copy.chmod(0o755)
    assert sorted(p.name for p in copy.iterdir()) == before


def test_a_tampered_file_is_never_loaded(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(model_files(), copy)
    with (copy / "embedding_model.ckpt").open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x01")  # same size, one byte changed
    with pytest.raises(ModelIntegrityError, match=r"embedding_model\.ckpt"):
        SpeechBrainEcapa.load(copy, threads=1)


def test_loading_touches_no_network_and_keeps_the_thread_count() -> None:
    # A fresh process whose sockets all fail: loading and embedding must not need one.
    script = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "import numpy as np, torch\n"
        "from pathlib import Path\n"
        "from voiceauth_adapters.speechbrain import SpeechBrainEcapa\n"
        "from voiceauth_adapters.vad import SileroSpeechDetector\n"
        "model = SpeechBrainEcapa.load(Path(sys.argv[1]), threads=2)\n"
        "SileroSpeechDetector()\n"
        "model.embed_batch([np.random.default_rng(0).normal(0, 0.1, 16000).astype('f4')])\n"
        "print(torch.get_num_threads())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(model_files())],
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, "HF_HUB_OFFLINE": ""},
        cwd=REPOSITORY,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().split()[-1] == "2"


async def test_inference_runs_off_the_event_loop() -> None:
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    await ecapa().embed(speech("103_a"))
    seen = ticks
    done = True
    await task
    assert seen > 10  # the loop kept turning while the model worked
