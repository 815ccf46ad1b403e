"""An 8-bit version of the ONNX export: the convolutions in int8, for CPUs with VNNI.

The fp32 export (:mod:`voiceauth_adapters.onnx.ecapa`) is quantised by onnxruntime's static
quantiser into QDQ form: weights int8 per output channel, activations uint8 with one range per
tensor. The activation ranges are not measured on the user's machine: they were measured once
on public speech (LibriSpeech cohort speakers, ``benchmarks/int8_ranges.py``) and ship in the
package as a small JSON file, so making the int8 model needs no audio. The first convolution (the
80 mel features), the attentive pooling and the last layer stay in fp32; they are cheap, and the
pooling's softmax and the 192-dimensional output are where 8 bits cost the most accuracy.

The embeddings are close to the fp32 ones (cosine about 0.997 on real speech), not equal:
``docs/performance.md`` gives the speed and the evaluation figures side by side.

Only x86-64 CPUs with VNNI (``avx512_vnni`` or ``avx_vnni``) run it: without VNNI onnxruntime's
8-bit kernels multiply with ``vpmaddubsw``, whose 16-bit sums can saturate, which would move the
embeddings by an amount nobody measured. Elsewhere it is refused with a message naming ``onnx``.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceauth_adapters.onnx.ecapa import ensure_export, onnx_path, publish
from voiceauth_adapters.speechbrain.manifest import ModelUnavailableError

__all__ = [
    "INT8_RANGES",
    "ensure_int8_export",
    "int8_path",
    "int8_supported",
    "measure_ranges",
    "ranges_digest",
    "require_int8_cpu",
]

#: The activation ranges the quantiser uses (onnxruntime's calibration-cache JSON).
INT8_RANGES = Path(__file__).with_name("data") / "int8-ranges.json"
_FP32_NODES = ("/blocks.0/conv/conv/Conv", "/asp/Conv", "/asp/conv/conv/Conv", "/fc/conv/Conv")


def int8_supported(machine: str, cpuinfo: str | None) -> bool:
    """Whether this CPU runs the int8 model as measured: x86-64 with VNNI (Linux cpuinfo flags).

    Other architectures, and x86-64 systems whose flags cannot be read, are not refused here:
    the saturation is a property of x86's non-VNNI kernels, and without ``/proc/cpuinfo``
    nothing is known either way. Neither was measured: ``docs/performance.md`` names the CPU
    that was.
    """
    if machine.lower() not in ("x86_64", "amd64"):
        return True
    if cpuinfo is None:
        return True
    flags = {
        flag for line in cpuinfo.splitlines() if line.startswith("flags") for flag in line.split()
    }
    return bool(flags & {"avx512_vnni", "avx_vnni"})


def require_int8_cpu() -> None:
    """Refuse the int8 model on an x86-64 CPU without VNNI.

    Raises:
        ModelUnavailableError: The CPU has no VNNI.
    """
    try:
        cpuinfo: str | None = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = None
    if not int8_supported(platform.machine(), cpuinfo):
        raise ModelUnavailableError(
            "VOICEAUTH_INFERENCE=onnx-int8 needs a CPU with VNNI (avx512_vnni or avx_vnni), "
            "and this one has neither: use onnx, the same network in 32-bit floats"
        )


def ranges_digest() -> str:
    """The first 12 hex digits of the shipped ranges' SHA-256."""
    return hashlib.sha256(INT8_RANGES.read_bytes()).hexdigest()[:12]


def int8_path(export_dir: Path) -> Path:
    """Where the int8 model lives: named after the fp32 export and the ranges it was made with."""
    return onnx_path(export_dir).with_suffix(f".int8-{ranges_digest()}.onnx")


def _quantize(source: Path, target: Path, *, ranges: Path, reader: Any = None) -> None:
    from onnxruntime.quantization import (  # noqa: PLC0415 - heavy, only when making the model
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    quantize_static(
        str(source),
        str(target),
        reader,
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["Conv"],
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=list(_FP32_NODES),
        calibrate_method=CalibrationMethod.MinMax,
        calibration_cache_path=str(ranges),
        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
    )


def ensure_int8_export(model_dir: Path, export_dir: Path) -> tuple[Path, bool]:
    """Make the int8 model from the fp32 export and the shipped ranges, unless it is there.

    Returns:
        The int8 model's path, and whether it was made now.

    Raises:
        ModelUnavailableError: A model file is missing or fails its SHA-256 check.
        ModelUnavailableError: Also when the shipped ranges do not name this export's tensors
            (a different exporter); ``benchmarks/int8_ranges.py`` measures them again.
    """
    fp32, _ = ensure_export(model_dir, export_dir)
    target = int8_path(export_dir)
    if target.is_file():
        return target, False
    _check_ranges_cover(fp32)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(handle)
    try:
        _quantize(fp32, Path(temporary), ranges=INT8_RANGES)
        publish(Path(temporary), target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    for stale in target.parent.glob("ecapa-embedding-*.int8-*.onnx"):
        if stale != target:
            stale.unlink(missing_ok=True)
    return target, True


def _check_ranges_cover(fp32: Path) -> None:
    import json  # noqa: PLC0415

    import onnx  # noqa: PLC0415

    graph = onnx.load(str(fp32), load_external_data=False).graph
    needed = {
        name
        for node in graph.node
        if node.op_type == "Conv" and node.name not in _FP32_NODES
        for name in (node.input[0], node.output[0])
    }
    known = set(json.loads(INT8_RANGES.read_text())["data"])
    missing = sorted(needed - known)
    if missing:
        raise ModelUnavailableError(
            f"the shipped int8 ranges miss {len(missing)} tensors of this export "
            f"(e.g. {missing[0]}); measure them again with benchmarks/int8_ranges.py"
        )


def measure_ranges(
    fp32: Path, features: Iterable[npt.NDArray[np.float32]], out: Path, *, scratch: Path
) -> None:
    """Measure the activation ranges on ``features`` (``[1, frames, 80]`` each) into ``out``.

    A model is quantised into ``scratch`` on the way (onnxruntime measures while quantising).
    """
    from onnxruntime.quantization import CalibrationDataReader  # noqa: PLC0415

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._rows = iter(features)

        def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
            row = next(self._rows, None)
            return None if row is None else {"features": row}

    import json  # noqa: PLC0415

    out.unlink(missing_ok=True)
    _quantize(fp32, scratch, ranges=out, reader=Reader())
    # One line per tensor, sorted, readable by everyone: a reviewable diff when remeasured.
    measured = json.loads(out.read_text())
    out.write_text(json.dumps(measured, sort_keys=True, indent=1) + "\n")
    out.chmod(0o644)
