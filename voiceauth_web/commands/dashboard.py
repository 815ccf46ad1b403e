"""``voiceauth dashboard``: the Streamlit operator dashboard, next to ``voiceauth serve``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from voiceauth_web.commands import Subcommands

__all__ = ["register"]


def register(subparsers: Subcommands) -> None:
    """Add the ``dashboard`` command."""
    parser = subparsers.add_parser("dashboard", help="run the operator dashboard (Streamlit)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8501)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    app = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.address",
        args.host,
        "--server.port",
        str(args.port),
        "--browser.gatherUsageStats",
        "false",
    ]
    print(
        f"dashboard on http://{args.host}:{args.port} for {os.environ.get('API_BASE_URL', 'http://127.0.0.1:8000')}",
        flush=True,
    )
    # Streamlit takes this process's place, so a stop signal (a process manager's SIGTERM)
    # reaches it; a child would outlive its stopped parent and keep the port.
    os.execv(sys.executable, command)  # noqa: S606 - our own app, fixed arguments
