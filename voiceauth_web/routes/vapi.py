"""VAPI's server URL: every server message; the ``verify_voice``, ``enroll_voice``,
``identify_caller`` and ``start_voice_check`` tools.

``POST /api/v1/vapi/events`` is the assistant's Server URL; ``/api/v1/vapi/tool-calls`` is the
same handler under the path assistants configured before it. ``status-update`` (``in-progress``)
starts the call's session, which listens to the caller from then on; ``status-update``
(``ended``) and ``end-of-call-report`` close it; ``tool-calls`` are answered from it, each tool
call concurrently, inside its tool's ``server.timeoutSeconds``; ``speech-update`` tells an open
liveness challenge when the assistant finished reading it (``vapi_challenge``). Every other
message type gets ``{}``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from litestar import Response, post
from litestar.params import Dependency

from voiceauth_core import CapturePlan, Identify, InvalidInputError, Verify, VoiceAuthError
from voiceauth_core.call_session import Claim
from voiceauth_core.use_cases import IssueChallenge, RedeemChallenge
from voiceauth_web import vapi_challenge, vapi_identify
from voiceauth_web.call_sessions import UNAVAILABLE, CallSessions, claim_of
from voiceauth_web.error_responses import log_failure
from voiceauth_web.observability import Metrics
from voiceauth_web.routes.guards import require_json
from voiceauth_web.routes.injected import CallListener
from voiceauth_web.vapi_challenge import CallChallenges
from voiceauth_web.vapi_messages import (
    NoContent,
    ToolCall,
    ToolCallResult,
    ToolCallsMessage,
    ToolCallsResponse,
    decode_server_message,
)

__all__ = [
    "CHALLENGE_TOOL",
    "ENROLL_TOOL",
    "EVENTS_PATH",
    "IDENTIFY_TOOL",
    "TOOL_CALLS_PATH",
    "TOOL_NAME",
    "server_messages",
]

TOOL_NAME = "verify_voice"
ENROLL_TOOL = "enroll_voice"
IDENTIFY_TOOL = vapi_identify.TOOL_NAME
CHALLENGE_TOOL = vapi_challenge.TOOL_NAME
EVENTS_PATH = "/api/v1/vapi/events"
TOOL_CALLS_PATH = "/api/v1/vapi/tool-calls"
#: Kept of every tool's budget for the answer's way back to VAPI.
_NETWORK_S = 1.5

#: The registry of call sessions (a class Litestar need not check with ``isinstance``).
Sessions = Annotated[CallSessions, Dependency(skip_validation=True)]
#: The liveness challenges open in this replica's calls.
Challenges = Annotated[CallChallenges, Dependency(skip_validation=True)]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Tools:
    """What the tools answer with: the call sessions, identification's parts, and the liveness
    challenge's."""

    sessions: CallSessions
    identify: Identify
    listener: CallListener
    plan: CapturePlan
    challenges: CallChallenges
    issue_challenge: IssueChallenge
    redeem_challenge: RedeemChallenge
    verify: Verify
    metrics: Metrics


def _claims(message: ToolCallsMessage) -> list[Claim]:
    """The accounts the call itself names: a ``userId`` it was started with, else the caller's
    number (a claim to check by voice, never an identity)."""
    claims: list[Claim] = []
    for user, phone in ((message.named_user, None), (None, message.customer_number)):
        try:
            claims.append(claim_of(user, phone))
        except InvalidInputError:
            continue
    return claims


def _claim(
    user_id: str | None, phone: str | None, message: ToolCallsMessage, sessions: CallSessions
) -> Claim | None:
    """The tool's account, else the call's (as this message or its start named it); None when
    none is named."""
    if user_id or phone:
        return claim_of(user_id, phone)
    claims = _claims(message) or sessions.claims_of(message.call_id)
    return claims[0] if claims else None


async def _verify_voice(call: ToolCall, message: ToolCallsMessage, tools: _Tools) -> str:
    sessions = tools.sessions
    arguments = call.called.verify_voice_arguments()
    budget = max(0.5, message.timeout_for(call) - _NETWORK_S)
    try:
        claim = _claim(arguments.userId, arguments.phone, message, sessions)
    except InvalidInputError as exc:
        return f"{UNAVAILABLE}: {exc.message}."
    if claim is None:
        return f"{UNAVAILABLE}: give the account's userId or phone number."
    async with asyncio.timeout(budget):
        answered = await tools.challenges.answer(
            call_id=message.call_id,
            claim=claim,
            sessions=sessions,
            redeem=tools.redeem_challenge,
            verify=tools.verify,
            metrics=tools.metrics,
        )
        if answered is not None:  # the account was challenged in this call
            return answered
        return await sessions.verify(message.call_id, message.listen_url, claim, budget_s=budget)


async def _start_voice_check(call: ToolCall, message: ToolCallsMessage, tools: _Tools) -> str:
    """A liveness challenge for the account ``verify_voice`` would check: the sentence to read."""
    arguments = call.called.verify_voice_arguments()
    try:
        claim = _claim(arguments.userId, arguments.phone, message, tools.sessions)
    except InvalidInputError as exc:
        return f"{UNAVAILABLE}: {exc.message}."
    if claim is None:
        return f"{UNAVAILABLE}: give the account's userId or phone number."
    return await tools.challenges.start(
        call_id=message.call_id,
        listen_url=message.listen_url,
        claim=claim,
        sessions=tools.sessions,
        issue=tools.issue_challenge,
    )


async def _enroll_voice(call: ToolCall, message: ToolCallsMessage, tools: _Tools) -> str:
    arguments = call.called.enroll_voice_arguments()
    if not arguments.confirmedBy or not arguments.confirmedBy.strip():
        return (
            "Voice enrolment refused: confirm the caller's identity another way first, and say "
            "how in confirmedBy."
        )
    try:
        claim = claim_of(arguments.userId, arguments.phone)
        if claim.user_id is None:
            return "Voice enrolment unavailable: give the account's userId."
        if arguments.userId and arguments.phone:  # keep the phone number on the enrolment
            claim = Claim(user_id=claim.user_id, phone=claim_of(None, arguments.phone).phone)
    except InvalidInputError as exc:
        return f"Voice enrolment unavailable: {exc.message}."
    return await tools.sessions.enroll(
        message.call_id, claim, confirmed_by=arguments.confirmedBy.strip()
    )


async def _identify_caller(call: ToolCall, message: ToolCallsMessage, tools: _Tools) -> str:
    """Who among the enrolled users is calling: from the speech the call's session heard, else
    by listening now."""
    return await vapi_identify.identify_caller(
        message.listen_url,
        tools.identify,
        tools.listener,
        tools.plan,
        heard=tools.sessions.heard(message.call_id),
        budget_s=max(0.5, message.timeout_for(call) - _NETWORK_S),
    )


def _no_content() -> Response[ToolCallsResponse | NoContent]:
    return Response(NoContent(), status_code=200)


_TOOLS = {
    TOOL_NAME: _verify_voice,
    ENROLL_TOOL: _enroll_voice,
    vapi_identify.TOOL_NAME: _identify_caller,
    CHALLENGE_TOOL: _start_voice_check,
}


async def _answer(call: ToolCall, message: ToolCallsMessage, tools: _Tools) -> ToolCallResult:
    name = call.called.name
    tool = _TOOLS.get(name or "")
    if tool is None:
        return ToolCallResult(toolCallId=call.id, name=name, error=f"unknown tool {name!r}")
    try:
        sentence = await tool(call, message, tools)
    except TimeoutError:
        sentence = f"{UNAVAILABLE}: the check took too long."
    return ToolCallResult(toolCallId=call.id, name=name, result=sentence)


async def _start(
    message: ToolCallsMessage, sessions: CallSessions
) -> Response[ToolCallsResponse | NoContent]:
    call_id, listen_url = message.call_id, message.listen_url
    if not call_id or not listen_url:
        return _no_content()
    try:
        await sessions.start(call_id, listen_url, _claims(message))
    except InvalidInputError as exc:  # a listen URL that is not allowed: nothing to listen to
        log_failure(exc, "call session not started")
    return _no_content()


@post(
    [EVENTS_PATH, TOOL_CALLS_PATH],
    status_code=200,
    guards=[require_json],
    tags=["vapi"],
)
async def server_messages(
    data: dict[str, object],
    sessions: Sessions,
    identify: Identify,
    listener: CallListener,
    tool_plan: CapturePlan,
    call_challenges: Challenges,
    issue_challenge: IssueChallenge,
    redeem_challenge: RedeemChallenge,
    verify: Verify,
    metrics: Metrics,
) -> Response[ToolCallsResponse | NoContent]:
    """Answer a VAPI server message: tool calls with their results, every other message with
    ``{}``. The listen URL comes from the call, never from a tool's arguments.

    A ``status-update`` that starts a call is refused with 503 when this instance already holds
    its maximum of call sessions.
    """
    # Any JSON object is taken, then decoded here: VAPI expects a 200 whatever it sent.
    message = decode_server_message(data)
    kind = message.type
    if kind == "tool-calls" or (kind is None and message.calls):
        tools = _Tools(
            sessions=sessions,
            identify=identify,
            listener=listener,
            plan=tool_plan,
            challenges=call_challenges,
            issue_challenge=issue_challenge,
            redeem_challenge=redeem_challenge,
            verify=verify,
            metrics=metrics,
        )
        results = await asyncio.gather(*(_answer(c, message, tools) for c in message.calls))
        return Response(ToolCallsResponse(results=list(results)), status_code=200)
    if kind == "status-update" and message.status == "in-progress":
        return await _start(message, sessions)
    if kind == "speech-update":
        call_challenges.speech_update(
            message.call_id, role=message.role, status=message.status, sessions=sessions
        )
        return _no_content()
    ended = kind == "end-of-call-report" or (kind == "status-update" and message.status == "ended")
    if ended and message.call_id:
        try:
            await sessions.end(message.call_id)
        except VoiceAuthError as exc:  # the board, on the way out
            log_failure(exc, "closing a call session failed")
    return _no_content()
