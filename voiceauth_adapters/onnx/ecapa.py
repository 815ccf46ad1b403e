"""The ECAPA embedding network exported to ONNX and run by onnxruntime.

The features are SpeechBrain's own modules (``Fbank`` with 80 mels, then sentence mean
normalisation), computed in torch exactly as ``EncoderClassifier.encode_batch`` does; only the
embedding network (``mods.embedding_model``, 20.8 M parameters) runs in onnxruntime, its pooling
folded into an equal but cheaper form first (``voiceauth_adapters.onnx.folding``). The ONNX file
is exported once from the verified checkpoint and cached under a name that carries the
checkpoint's SHA-256 and the graph's version, so neither a different checkpoint nor a changed
graph can ever reuse a stale export.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.speechbrain.manifest import MODEL_ID, OFFICIAL_SHA256, verify_model_dir
from voiceauth_core.errors import AudioProcessingError

__all__ = ["OnnxEcapa", "ensure_export", "export_dir_for", "onnx_path", "publish"]

MIN_SAMPLES = 1600  # 0.1 s at 16 kHz, as the SpeechBrain adapter
_N_MELS = 80
_OPSET = 17
#: The exported graph's own version, in its file name: a changed graph is never read from an
#: older export (2: the pooling folded, ``voiceauth_adapters.onnx.folding``).
GRAPH_VERSION = 2


def onnx_path(export_dir: Path) -> Path:
    """Where the export of the official checkpoint lives in ``export_dir``."""
    digest = OFFICIAL_SHA256["embedding_model.ckpt"][:16]
    return export_dir / f"ecapa-embedding-{digest}-g{GRAPH_VERSION}.onnx"


def export_dir_for(model_dir: Path, cache_dir: Path) -> Path:
    """Next to the model files when the export is there already or that folder is writable,
    else ``cache_dir/onnx``. (An image exports beside the files at build time, as root, and
    serves as another user from a read-only file system: the export is read where it is.)"""
    if onnx_path(model_dir).is_file() or os.access(model_dir, os.W_OK):
        return model_dir
    return cache_dir / "onnx"


def _network(model_dir: Path) -> Any:
    """The embedding network of ``hyperparams.yaml`` with the checkpoint's weights."""
    import torch  # noqa: PLC0415 - heavy, only when loading
    from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN  # noqa: PLC0415

    network = ECAPA_TDNN(
        _N_MELS,
        channels=[1024, 1024, 1024, 1024, 3072],
        kernel_sizes=[5, 3, 3, 3, 1],
        dilations=[1, 2, 3, 4, 1],
        attention_channels=128,
        lin_neurons=192,
    )
    state = torch.load(model_dir / "embedding_model.ckpt", map_location="cpu", weights_only=True)
    network.load_state_dict(state, strict=True)
    network.eval()
    return network


def _export(model_dir: Path, target: Path) -> None:
    """Export the network to ``target`` (written to a temporary name, then renamed)."""
    import warnings  # noqa: PLC0415

    import torch  # noqa: PLC0415

    from voiceauth_adapters.onnx.folding import fold_pooling  # noqa: PLC0415 - imports torch

    network = fold_pooling(_network(model_dir))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(handle)
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            # The TorchScript exporter warns about traced Python conditions on shapes; the
            # dynamic time axis is checked by the parity test on clips of several lengths.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                network,
                (torch.randn(1, 200, _N_MELS),),
                temporary,
                input_names=["features"],
                output_names=["embedding"],
                dynamic_axes={"features": {0: "batch", 1: "frames"}},
                opset_version=_OPSET,
                dynamo=False,
            )
        publish(Path(temporary), target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    for stale in target.parent.glob("ecapa-embedding-*.onnx"):
        if stale != target:  # an export of an older graph or checkpoint: never read again
            stale.unlink(missing_ok=True)


def publish(temporary: Path, target: Path) -> None:
    """Rename a finished export into place, readable by every user.

    ``mkstemp`` makes its file private (0600); an export made at an image's build time, as root,
    must stay readable by the service's own unprivileged user.
    """
    temporary.chmod(0o644)
    temporary.replace(target)


def ensure_export(model_dir: Path, export_dir: Path) -> tuple[Path, bool]:
    """Export the verified checkpoint's network into ``export_dir`` unless it is there already.

    ``voiceauth model fetch`` runs it, so that a service whose cache is read-only (the container
    image) finds the export made at build time.

    Returns:
        The export's path, and whether it was made now.

    Raises:
        ModelUnavailableError: A model file is missing or fails its SHA-256 check.
    """
    verify_model_dir(model_dir)
    path = onnx_path(export_dir)
    if path.is_file():
        return path, False
    _export(model_dir, path)
    return path, True


class OnnxEcapa:
    """ECAPA-TDNN speaker embeddings with the network in onnxruntime (192 dimensions).

    Same model identifier as ``SpeechBrainEcapa``: the embeddings agree to a cosine of 0.9999 or
    more, so templates enrolled with either backend verify with the other.
    """

    def __init__(self, session: Any, features: Any, normalize: Any, *, threads: int) -> None:
        self._session = session
        self._features = features
        self._normalize = normalize
        self._threads = threads
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model_dir: Path,
        *,
        export_dir: Path,
        threads: int = 0,
        int8: bool = False,
        require_vnni: bool = True,
    ) -> OnnxEcapa:
        """Verify the model files, export the network once, open an onnxruntime session.

        Args:
            model_dir: A folder holding the five official files.
            export_dir: Where the ONNX export is cached (see :func:`export_dir_for`).
            threads: onnxruntime intra-op threads per call (0: one per core).
            int8: Run the 8-bit model (:mod:`voiceauth_adapters.onnx.quantized`) instead.
            require_vnni: Refuse ``int8`` on an x86-64 CPU without VNNI, as the service does
                (False only to measure the network itself on such a CPU).

        Raises:
            ModelUnavailableError: A model file is missing or fails its SHA-256 check, or
                ``int8`` on a CPU that cannot run it as measured.
        """
        make = ensure_export
        if int8:
            from voiceauth_adapters.onnx.quantized import (  # noqa: PLC0415
                ensure_int8_export,
                require_int8_cpu,
            )

            if require_vnni:
                require_int8_cpu()
            make = ensure_int8_export
        path, _ = make(model_dir, export_dir)  # verifies the model files first
        import torch  # noqa: PLC0415
        from speechbrain.lobes.features import Fbank  # noqa: PLC0415
        from speechbrain.processing.features import InputNormalization  # noqa: PLC0415

        from voiceauth_adapters.inference.pool import usable_cores  # noqa: PLC0415
        from voiceauth_adapters.onnx.sessions import cpu_session  # noqa: PLC0415

        count = threads or usable_cores()
        session, path = cpu_session(
            path, threads=count, remake=lambda: make(model_dir, export_dir)[0]
        )
        torch.set_num_threads(min(torch.get_num_threads(), count))
        return cls(
            session,
            Fbank(n_mels=_N_MELS).eval(),
            InputNormalization(norm_type="sentence", std_norm=False).eval(),
            threads=count,
        )

    @property
    def model_id(self) -> str:
        """The same identifier as the SpeechBrain backend (same checkpoint, same embeddings)."""
        return MODEL_ID

    def features(self, samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """SpeechBrain's input features of one 16 kHz recording: ``[1, frames, 80]``."""
        import torch  # noqa: PLC0415

        with torch.inference_mode():
            signal = torch.from_numpy(np.array(samples, dtype=np.float32))[None]  # a writable copy
            features = self._features(signal)
            # InputNormalization keeps running statistics as module state even in sentence
            # mode; one thread at a time computes through it.
            with self._lock:
                features = self._normalize(features, torch.ones(1))
        result: npt.NDArray[np.float32] = features.numpy()
        return result

    def embed_batch(self, batch: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float64]:
        """Embed several 16 kHz recordings, each on its own (no padding); one unit vector each."""
        if not batch or min(len(samples) for samples in batch) < MIN_SAMPLES:
            raise AudioProcessingError("too little speech to embed", reason="too_short")
        rows = []
        for samples in batch:
            (output,) = self._session.run(["embedding"], {"features": self.features(samples)})
            rows.append(np.asarray(output, np.float64).reshape(-1))
        vectors = np.stack(rows)
        norms: npt.NDArray[np.float64] = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / norms
