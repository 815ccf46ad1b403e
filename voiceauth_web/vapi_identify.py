"""The VAPI tool ``identify_caller``: who among the enrolled users is on the call, as one sentence.

``routes/vapi.py`` dispatches a tool call named :data:`TOOL_NAME` to :func:`identify_caller`,
with the call's listen URL (never one from the arguments), the ``Identify`` use case, the
listener and the tool's capture plan; the sentence it returns is the tool call's result.
"""

from __future__ import annotations

import asyncio

from voiceauth_core import CapturePlan, Identification, IdentificationOutcome, Identify
from voiceauth_core.errors import VoiceAuthError
from voiceauth_core.ports import AudioSource
from voiceauth_web.error_responses import log_failure, public_message
from voiceauth_web.instrumented import InstrumentedSource
from voiceauth_web.presenters import IDENTIFY_MESSAGES
from voiceauth_web.routes.injected import CallListener

__all__ = ["TOOL_NAME", "identify_caller", "sentence"]

TOOL_NAME = "identify_caller"
# VAPI waits 20 s by default; answer before it gives up, whatever the capture does.
_ANSWER_WITHIN_S = 18.0


def sentence(result: Identification) -> str:
    """What the assistant is told of an identification."""
    if result.outcome is IdentificationOutcome.NOT_ENOUGH_SPEECH:
        told = IDENTIFY_MESSAGES[result.outcome]
    elif result.match is not None:
        told = (
            f"Caller identified as user {result.match} "
            f"({result.confidence:.0%} sure among {result.gallery_size} enrolled voices). "
            "Confirm the account with the caller before acting on it."
        )
    else:
        told = (
            f"Caller not identified: the voice matches none of the {result.gallery_size} "
            "enrolled users closely enough. Identify the caller another way."
        )
    if result.watchlist is not None:
        told += (
            " Warning: the voice matches an entry of the fraud watchlist "
            f"({result.watchlist.label}); follow the fraud procedure."
        )
    return told


async def identify_caller(
    listen_url: str | None,
    identify: Identify,
    listener: CallListener,
    plan: CapturePlan,
    *,
    heard: AudioSource | None = None,
    budget_s: float = _ANSWER_WITHIN_S,
) -> str:
    """Identify the caller from what the call's session already ``heard``, else (or when that
    was too little speech) by listening to the call; the sentence for the assistant.

    Never raises for a failure of hearing or of the store: the assistant is told the check is
    unavailable instead.
    """
    try:
        async with asyncio.timeout(budget_s):
            result = None
            if heard is not None:
                result = await identify.execute(source=heard, limit=3, plan=plan)
            if result is None or result.outcome is IdentificationOutcome.NOT_ENOUGH_SPEECH:
                if not listen_url:
                    return (
                        "Caller identification unavailable: live listening is not enabled "
                        "for this call."
                    )
                live = listener.source(
                    listen_url, max_audio_s=plan.max_audio_s, timeout_s=max(0.5, budget_s - 1)
                )
                result = await identify.execute(source=InstrumentedSource(live), limit=3, plan=plan)
    except TimeoutError:
        return "Caller identification unavailable: the check took too long."
    except VoiceAuthError as exc:
        log_failure(exc, "identify_caller failed")
        return f"Caller identification unavailable: {public_message(exc)}."
    return sentence(result)
