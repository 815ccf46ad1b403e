"""onnxruntime sessions on the CPU, opened the same way for every network the service runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["cpu_session"]


def cpu_session(path: Path, *, threads: int, remake: Callable[[], Path]) -> tuple[Any, Path]:
    """An onnxruntime session on ``path`` with ``threads`` intra-op threads, sequential.

    Idle threads sleep instead of spinning: with a pool of workers on shared cores, spinning
    threads steal the cores the other calls compute on (measured: 245 ms against 315 to 570 ms
    for 10 s of audio on the loaded 2-core machine). A file onnxruntime cannot open (a damaged
    cache) is removed and made again once with ``remake``.

    Returns:
        The session, and the path it was opened from.
    """
    import onnxruntime as ort  # noqa: PLC0415 - heavy, only when a network is loaded

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - a damaged cache file: make it again, once
        path.unlink(missing_ok=True)
        path = remake()
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session, path
