"""``voiceauth enroll`` and ``voiceauth verify``: the service's use cases on local files."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from voiceauth_web.commands import Subcommands
from voiceauth_web.settings import Settings

if TYPE_CHECKING:
    from voiceauth_web.containers import Container

__all__ = ["register"]

#: A command's work over the service's container; its exit status (None: 0).
Work: TypeAlias = "Callable[[Container], Awaitable[int | None]]"


def register(subparsers: Subcommands) -> None:
    """Add the ``enroll`` and ``verify`` commands."""
    enroll = subparsers.add_parser("enroll", help="add a voice sample file to a user's enrolment")
    enroll.add_argument("user_id")
    enroll.add_argument("file", type=Path)
    enroll.add_argument("--phone", help="the user's phone number (E.164)")
    enroll.add_argument("--replace", action="store_true", help="start the enrolment afresh")
    enroll.set_defaults(func=_enroll)
    verify = subparsers.add_parser(
        "verify",
        help="verify the speaker of a file against a user (exit 0 accepted, 2 not accepted)",
    )
    verify.add_argument("user_id")
    verify.add_argument("file", type=Path)
    verify.set_defaults(func=_verify)


async def _with_database(settings: Settings, work: Work) -> int | None:
    """Open the database, run ``serve``'s start-up checks on it, then ``work(container)``."""
    from voiceauth_web.containers import build_container, check_database  # noqa: PLC0415
    from voiceauth_web.startup_checks import CLEAR_TEMPLATES_WARNING  # noqa: PLC0415

    container = build_container(settings)
    database = container.adapters.database()
    await database.open()
    try:
        # As at the service's start: never touch sealed voiceprints this key cannot open.
        if await check_database(container, database):
            print(f"voiceauth: warning: {CLEAR_TEMPLATES_WARNING}", file=sys.stderr)
        return await work(container)
    finally:
        await database.close()


#: Exit status of ``verify`` when the file was heard but not accepted (errors exit 1).
NOT_ACCEPTED = 2


def _run(work: Work) -> int:
    from voiceauth_core import VoiceAuthError  # noqa: PLC0415

    try:
        status: int | None = asyncio.run(_with_database(Settings.from_env(), work))
    except VoiceAuthError as exc:
        print(f"voiceauth: {exc.name}: {exc.message}", file=sys.stderr)
        return 1
    return status or 0


def _enroll(args: argparse.Namespace) -> int:
    from voiceauth_adapters.audio import FileAudioSource  # noqa: PLC0415
    from voiceauth_core import PhoneNumber, UserId  # noqa: PLC0415

    async def work(container: Container) -> int | None:
        result = await container.use_cases.enroll().execute(
            user_id=UserId.parse(args.user_id),
            phone=PhoneNumber.parse(args.phone) if args.phone else None,
            source=FileAudioSource(args.file, container.adapters.decoder()),
            replace=args.replace,
        )
        enrollment = result.enrollment
        print(
            f"enrolled {enrollment.user_id}: {enrollment.sample_count} sample(s), "
            f"{enrollment.speech_seconds:.1f} s of speech"
            + (" (strong enough)" if result.strong_enough else " (add more speech)")
            + ("" if enrollment.phone_band_sum is not None else "; no phone-band voiceprint")
        )
        return None

    return _run(work)


def _verify(args: argparse.Namespace) -> int:
    from voiceauth_adapters.audio import FileAudioSource  # noqa: PLC0415
    from voiceauth_core import Decision, UserId  # noqa: PLC0415

    async def work(container: Container) -> int | None:
        result = await container.use_cases.verify().execute(
            user_id=UserId.parse(args.user_id),
            source=FileAudioSource(args.file, container.adapters.decoder()),
            correlation_id="cli",
        )
        score = result.score
        scores = f"score {score.calibrated:.3f} (cosine {score.raw:.3f}), " if score else ""
        print(f"{result.decision.value}: {scores}{result.speech_seconds:.1f} s of speech used")
        # Scripts can branch on the exit status: 0 accepted, 2 heard but not accepted.
        return 0 if result.decision is Decision.ACCEPT else NOT_ACCEPTED

    return _run(work)
