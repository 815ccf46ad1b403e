# ruff: noqa: PLC0415
"""``voiceauth eval --challenge``: the spoken liveness challenge measured on FSDD digit strings.

Each trial is a fresh challenge answered by one FSDD speaker: the speaker's own recordings of
the challenge's digits, joined with natural pauses after a reaction-time silence, heard clean or
over the phone channels by the service's recogniser and judged by the service's rule (both from
the composition root). It reports the genuine pass rate, the pass rate after one retry, the
rejection of replayed answers (the speaker's answer to the previous challenge, played to the
next one), and when answers begin, which sets ``VOICEAUTH_CHALLENGE_MAX_ANSWER_DELAY``. Heavy
modules are imported inside the command so ``voiceauth --help`` stays fast (PLC0415).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from typing import TYPE_CHECKING

from voiceauth_web import wiring
from voiceauth_web.settings import Settings

if TYPE_CHECKING:
    from voiceauth_core.audio import Audio
    from voiceauth_core.challenge import HeardDigits
    from voiceauth_core.ports import DigitRecognizer

__all__ = ["add_arguments", "run"]

_CHANNELS = ("clean", "phone", "mobile")


def _takes(text: str) -> range:
    match = re.fullmatch(r"(\d+)-(\d+)", text.strip())
    if match is None or int(match[1]) > int(match[2]):
        raise argparse.ArgumentTypeError("takes are a range FIRST-LAST, e.g. 25-49")
    return range(int(match[1]), int(match[2]) + 1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--challenge`` and its options, on ``voiceauth eval``."""
    group = parser.add_argument_group(
        "liveness challenge (--challenge)",
        "measure the spoken digit challenge on an FSDD folder ({digit}_{speaker}_{take}.wav)",
    )
    group.add_argument(
        "--challenge",
        action="store_true",
        help="evaluate the liveness challenge instead of verification",
    )
    group.add_argument(
        "--challenge-trials", type=int, default=60, metavar="N", help="first answers per channel"
    )
    group.add_argument(
        "--challenge-takes",
        type=_takes,
        default=range(25, 50),
        metavar="FIRST-LAST",
        help="FSDD takes the answers are made of (default 25-49, the test half; 0-24 is the "
        "half the decoding set-up was chosen on)",
    )
    group.add_argument(
        "--challenge-channels",
        default="clean,phone,mobile",
        help="channels, comma-separated (clean, phone: G.711, mobile: AMR-NB then G.711)",
    )
    group.add_argument(
        "--challenge-seed", type=int, default=2026, help="digits, takes, pauses, reactions"
    )


def _hear(recognizer: DigitRecognizer, audio: Audio) -> HeardDigits:
    return asyncio.run(recognizer.hear_digits(audio))


def run(args: argparse.Namespace) -> int:
    """Run the challenge evaluation; write the JSON report to ``--out``."""
    from voiceauth_adapters.audio.telephone import mobile_channel, phone_channel
    from voiceauth_adapters.evaluation.challenge import (
        read_digit_clips,
        run_channel,
        summarise_run,
        summary_lines,
    )
    from voiceauth_adapters.evaluation.report import write_json
    from voiceauth_adapters.speechbrain import ModelUnavailableError
    from voiceauth_core.errors import VoiceAuthError

    settings = Settings.from_env()
    channels = [c.strip() for c in args.challenge_channels.split(",") if c.strip()]
    unknown = sorted(set(channels) - set(_CHANNELS))
    if unknown or not channels or args.challenge_trials < 1:
        print(f"voiceauth eval: unknown or no channels {unknown}", file=sys.stderr)
        return 2
    try:
        speakers = read_digit_clips(args.corpus, takes=args.challenge_takes)
        recognizer = wiring.digit_recognizer(settings, threads=args.threads)
    except (VoiceAuthError, ModelUnavailableError) as exc:
        print(f"voiceauth eval: {exc}", file=sys.stderr)
        return 2
    rule = wiring.challenge_rule(settings)
    lines = {"clean": lambda audio: audio, "phone": phone_channel, "mobile": mobile_channel}
    started = time.monotonic()
    summaries = []
    for index, name in enumerate(channels):
        channel_run = run_channel(
            name=name,
            channel=lines[name],
            speakers=speakers,
            recognizer=recognizer,
            hear=_hear,
            rule=rule,
            trials=args.challenge_trials,
            seed=args.challenge_seed + index,
        )
        summaries.append(summarise_run(channel_run, rule=rule))
        if not args.quiet:
            print(summary_lines(summaries[-1:])[0], file=sys.stderr, flush=True)
    report = {
        "source": {
            "tool": "voiceauth eval --challenge",
            "corpus": str(args.corpus),
            "takes": f"{args.challenge_takes.start}-{args.challenge_takes.stop - 1}",
            "speakers": [s.speaker for s in speakers],
            "seed": args.challenge_seed,
        },
        "recognizer": recognizer.recognizer_id,
        "rule": {
            "digits": rule.length,
            "tolerance": rule.tolerance,
            "max_answer_delay_s": rule.max_answer_delay_s,
        },
        "answers": {"reaction_s": [0.3, 2.5], "pause_s": [0.1, 0.4]},
        "channels": summaries,
        "seconds": round(time.monotonic() - started, 1),
    }
    write_json(report, args.out)
    for line in summary_lines(summaries):
        print(line)
    print(f"report: {args.out}")
    return 0
