"""VAPI ``tool-calls`` server messages: the ``verify_voice`` tool, answered inside 20 seconds."""

from __future__ import annotations

import asyncio

from litestar import post

from voiceauth_core import CapturePlan, PhoneNumber, UserId, Verify, VoiceAuthError
from voiceauth_web.correlation import correlation_id
from voiceauth_web.error_responses import log_failure, public_message
from voiceauth_web.instrumented import InstrumentedSource
from voiceauth_web.observability import Metrics
from voiceauth_web.presenters import MESSAGES
from voiceauth_web.routes.guards import require_json
from voiceauth_web.routes.injected import CallListener
from voiceauth_web.routes.verification import observe
from voiceauth_web.vapi_messages import (
    ToolCallResult,
    ToolCallsResponse,
    VerifyVoiceArguments,
    decode_tool_calls,
)

__all__ = ["TOOL_NAME", "tool_calls"]

TOOL_NAME = "verify_voice"
# VAPI waits 20 s by default; answer before it gives up, whatever the capture does.
_ANSWER_WITHIN_S = 18.0


async def _verify_voice(
    arguments: VerifyVoiceArguments,
    listen_url: str | None,
    verify: Verify,
    listener: CallListener,
    plan: CapturePlan,
    metrics: Metrics,
) -> str:
    user_text, phone_text = arguments.userId, arguments.phone
    if not listen_url:
        return "Voice check unavailable: live listening is not enabled for this call."
    if not user_text and not phone_text:
        return "Voice check unavailable: give the account's userId or phone number."
    source = InstrumentedSource(
        listener.source(listen_url, max_audio_s=plan.max_audio_s, timeout_s=_ANSWER_WITHIN_S - 1)
    )
    try:
        async with asyncio.timeout(_ANSWER_WITHIN_S):
            result = await verify.execute(
                source=source,
                user_id=UserId.parse(user_text) if user_text else None,
                phone=PhoneNumber.parse(phone_text) if phone_text and not user_text else None,
                correlation_id=correlation_id(),
                plan=plan,
            )
    except TimeoutError:
        return "Voice check unavailable: the check took too long."
    except VoiceAuthError as exc:
        log_failure(exc, "verify_voice failed")
        return f"Voice check unavailable: {public_message(exc)}."
    observe(metrics, result, source.channel)
    return MESSAGES[result.decision]


@post("/api/v1/vapi/tool-calls", status_code=200, guards=[require_json], tags=["vapi"])
async def tool_calls(
    data: dict[str, object],
    verify: Verify,
    listener: CallListener,
    tool_plan: CapturePlan,
    metrics: Metrics,
) -> ToolCallsResponse:
    """Answer a VAPI ``tool-calls`` message; the listen URL comes from the call, never the
    arguments, and caller ID is never used as an identity."""
    # Any JSON object is taken, then decoded here: VAPI expects a 200 whatever it sent.
    message = decode_tool_calls(data)
    results: list[ToolCallResult] = []
    for call in message.calls:
        function = call.called
        if function.name != TOOL_NAME:
            results.append(
                ToolCallResult(toolCallId=call.id, error=f"unknown tool {function.name!r}")
            )
            continue
        arguments = function.verify_voice_arguments()
        sentence = await _verify_voice(
            arguments, message.listen_url, verify, listener, tool_plan, metrics
        )
        results.append(ToolCallResult(toolCallId=call.id, result=sentence))
    return ToolCallsResponse(results=results)
