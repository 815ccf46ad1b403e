"""VAPI ``tool-calls`` server messages: the ``verify_voice`` tool, answered inside 20 seconds."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import post

from voiceauth_core import CapturePlan, PhoneNumber, UserId, Verify, VoiceAuthError
from voiceauth_web.correlation import correlation_id
from voiceauth_web.error_responses import log_failure, public_message
from voiceauth_web.instrumented import InstrumentedSource
from voiceauth_web.observability import Metrics
from voiceauth_web.presenters import MESSAGES
from voiceauth_web.routes.guards import require_json
from voiceauth_web.routes.verification import observe
from voiceauth_web.schemas import ToolCallResult, ToolCallsResponse, loads_tool_arguments
from voiceauth_web.settings import Settings

__all__ = ["TOOL_NAME", "tool_calls"]

TOOL_NAME = "verify_voice"
# VAPI waits 20 s by default; answer before it gives up, whatever the capture does.
_ANSWER_WITHIN_S = 18.0


async def _verify_voice(
    arguments: dict[str, Any],
    listen_url: str | None,
    verify: Verify,
    listener: Any,
    plan: CapturePlan,
    metrics: Metrics,
) -> str:
    user_text, phone_text = arguments.get("userId"), arguments.get("phone")
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
                user_id=UserId.parse(str(user_text)) if user_text else None,
                phone=PhoneNumber.parse(str(phone_text)) if phone_text and not user_text else None,
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
    data: dict[str, Any],
    verify: Verify,
    listener: Any,
    tool_plan: CapturePlan,
    metrics: Metrics,
    settings: Settings,
) -> ToolCallsResponse:
    """Answer a VAPI ``tool-calls`` message; the listen URL comes from the call, never the
    arguments, and caller ID is never used as an identity."""
    del settings
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    assert isinstance(message, dict)
    calls = message.get("toolCallList") or message.get("toolCalls") or []
    call = message.get("call") if isinstance(message.get("call"), dict) else {}
    assert isinstance(call, dict)
    monitor = call.get("monitor") if isinstance(call.get("monitor"), dict) else {}
    assert isinstance(monitor, dict)
    listen_url = monitor.get("listenUrl") if isinstance(monitor.get("listenUrl"), str) else None
    results: list[ToolCallResult] = []
    for item in calls if isinstance(calls, list) else []:
        if not isinstance(item, dict):
            continue
        call_id = str(item.get("id", ""))
        function = item.get("function") if isinstance(item.get("function"), dict) else {}
        assert isinstance(function, dict)
        if function.get("name") != TOOL_NAME:
            results.append(
                ToolCallResult(toolCallId=call_id, error=f"unknown tool {function.get('name')!r}")
            )
            continue
        arguments = loads_tool_arguments(function.get("arguments"))
        sentence = await _verify_voice(arguments, listen_url, verify, listener, tool_plan, metrics)
        results.append(ToolCallResult(toolCallId=call_id, result=sentence))
    return ToolCallsResponse(results=results)
