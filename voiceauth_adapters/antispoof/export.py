"""AASIST exported once to ONNX, with its raw score and its last hidden representation as outputs.

The graph takes ``waveform`` ``[batch, 64600]`` (16 kHz) and returns ``score`` ``[batch]``: the
spoof logit minus the bona fide logit, and ``hidden`` ``[batch, 160]``: the representation the
network's output layer reads (what a back-end fitted on local data reads too, see
``antispoof.backend``). It is exported from the verified weights and cached under a name that
carries their SHA-256 and the graph's version, so neither other weights nor a changed graph ever
reuse a stale export. Before an export is kept, onnxruntime's outputs on a fixed input must equal
torch's within 1e-4.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.antispoof.manifest import WEIGHTS_SHA256, WINDOW, verify_weights
from voiceauth_adapters.speechbrain.manifest import ModelUnavailableError

__all__ = [
    "GRAPH_VERSION",
    "HIDDEN_SIZE",
    "OUTPUTS",
    "PARITY_TOLERANCE",
    "ensure_export",
    "export_dir_for",
    "onnx_path",
]

#: The exported graph's own version, in its file name (2: the hidden representation added).
GRAPH_VERSION = 2
#: The graph's outputs, in order.
OUTPUTS = ("score", "hidden")
#: The size of AASIST's last hidden representation (the published configuration's).
HIDDEN_SIZE = 160
#: The largest difference of raw scores (and of hidden values) allowed between the export and
#: torch.
PARITY_TOLERANCE = 1e-4
_OPSET = 17


def onnx_path(export_dir: Path) -> Path:
    """Where the export of the published weights lives in ``export_dir``."""
    return export_dir / f"aasist-{WEIGHTS_SHA256[:16]}-g{GRAPH_VERSION}.onnx"


def export_dir_for(weights: Path, cache_dir: Path) -> Path:
    """Beside the weights when the export is there already or that folder is writable, else
    ``cache_dir/onnx`` (an image exports at build time as root and serves read-only)."""
    if onnx_path(weights.parent).is_file() or os.access(weights.parent, os.W_OK):
        return weights.parent
    return cache_dir / "onnx"


def ensure_export(weights: Path, export_dir: Path) -> tuple[Path, bool]:
    """Export the verified network into ``export_dir`` unless it is there already.

    Returns:
        The export's path, and whether it was made now.

    Raises:
        ModelUnavailableError: The weights are missing or fail their SHA-256 check, or the
            export's scores differ from torch's.
    """
    verify_weights(weights)
    path = onnx_path(export_dir)
    if path.is_file():
        return path, False
    _export(weights, path)
    return path, True


def _export(weights: Path, target: Path) -> None:
    import warnings  # noqa: PLC0415

    import torch  # noqa: PLC0415 - heavy, only when exporting

    from voiceauth_adapters.antispoof.network import load_network  # noqa: PLC0415 - torch

    class Scores(torch.nn.Module):
        """The network with its raw score (logit spoof minus logit bona fide) and its last
        hidden representation as the outputs."""

        def __init__(self) -> None:
            super().__init__()
            self.network = load_network(weights)

        def forward(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            hidden, logits = self.network(waveform)
            score: torch.Tensor = logits[:, 0] - logits[:, 1]
            return score, hidden

    scores = Scores().eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(handle)
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            # The TorchScript exporter warns about traced shape arithmetic (the graph pooling's
            # node counts); the window is fixed, and the parity checks cover the batch axis.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                scores,
                (torch.zeros(1, WINDOW),),
                temporary,
                input_names=["waveform"],
                output_names=list(OUTPUTS),
                dynamic_axes={
                    "waveform": {0: "batch"},
                    "score": {0: "batch"},
                    "hidden": {0: "batch"},
                },
                opset_version=_OPSET,
                dynamo=False,
            )
            probe = torch.from_numpy(_probe())
            expected = tuple(output.numpy() for output in scores(probe))
        _check_parity(Path(temporary), probe.numpy(), expected)
        # mkstemp makes its file private; an export made as root must stay readable by all.
        Path(temporary).chmod(0o644)
        Path(temporary).replace(target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    for stale in target.parent.glob("aasist-*.onnx"):
        if stale != target:  # an export of an older graph or other weights: never read again
            stale.unlink(missing_ok=True)


def _probe() -> npt.NDArray[np.float32]:
    """Two fixed inputs: a gliding harmonic tone in syllables, and quiet noise."""
    t = np.arange(WINDOW) / 16000
    glide = sum(np.sin(2 * np.pi * k * (110 * t + 20 * t**2)) / k for k in range(1, 12))
    voiced = 0.2 * glide * (np.sin(2 * np.pi * 4 * t) > 0)
    noise = np.random.default_rng(0).normal(0, 0.02, WINDOW)
    return np.stack([voiced, noise]).astype(np.float32)


def _check_parity(
    path: Path,
    probe: npt.NDArray[np.float32],
    expected: tuple[npt.NDArray[np.float32], ...],
) -> None:
    import onnxruntime as ort  # noqa: PLC0415

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    actual = session.run(list(OUTPUTS), {"waveform": probe})
    for name, mine, theirs in zip(OUTPUTS, actual, expected, strict=True):
        worst = float(np.max(np.abs(np.asarray(mine) - np.asarray(theirs))))
        if not worst <= PARITY_TOLERANCE:
            raise ModelUnavailableError(
                f"the ONNX export of AASIST gives another {name} than torch (by {worst:.2e}, "
                f"more than {PARITY_TOLERANCE:g}); it is not used"
            )
