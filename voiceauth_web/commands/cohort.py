"""``voiceauth cohort``: the score cohort and the calibration, each action its own module."""

from __future__ import annotations

from voiceauth_web.commands import Subcommands, cohort_build, cohort_calibrate

__all__ = ["register"]


def register(subparsers: Subcommands) -> None:
    """Add ``cohort build`` and ``cohort calibrate`` to the command line."""
    cohort = subparsers.add_parser("cohort", help="build the score cohort or fit the calibration")
    actions = cohort.add_subparsers(dest="cohort_command", required=True, metavar="ACTION")
    cohort_build.register(actions)
    cohort_calibrate.register(actions)
