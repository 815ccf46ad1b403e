"""VAPI's ``tool-calls`` server message and the answer to it, as msgspec Structs.

The shapes are VAPI's (``ServerMessageToolCalls``, ``ToolCall``, ``ToolCallFunction``,
``ServerMessageResponseToolCalls`` in its OpenAPI document), reduced to the fields voiceauth reads;
other fields are ignored. Every field may be missing: a message that carries no tool call is
answered with no results, never refused.
"""

from __future__ import annotations

import msgspec

__all__ = [
    "Call",
    "Monitor",
    "ServerMessage",
    "ToolCall",
    "ToolCallFunction",
    "ToolCallResult",
    "ToolCallsMessage",
    "ToolCallsResponse",
    "VerifyVoiceArguments",
    "decode_tool_calls",
]


class VerifyVoiceArguments(msgspec.Struct):
    """The ``verify_voice`` function's arguments: the account, by user id or by phone number."""

    userId: str | None = None  # noqa: N815 - the tool's parameter names, as the assistant sends them
    phone: str | None = None


_ARGUMENTS = msgspec.json.Decoder(VerifyVoiceArguments)


class ToolCallFunction(msgspec.Struct):
    """The function the assistant calls; VAPI sends its arguments as an object or a JSON string."""

    name: str | None = None
    arguments: dict[str, object] | str | None = None

    def verify_voice_arguments(self) -> VerifyVoiceArguments:
        """The arguments as ``verify_voice`` takes them; none when they are not such an object."""
        try:
            if isinstance(self.arguments, str):
                return _ARGUMENTS.decode(self.arguments)
            return msgspec.convert(self.arguments or {}, VerifyVoiceArguments)
        except msgspec.DecodeError:  # ValidationError included: JSON, but not those arguments
            return VerifyVoiceArguments()


class ToolCall(msgspec.Struct):
    """One function call the assistant asks for; ``id`` goes back with its result."""

    id: str = ""
    function: ToolCallFunction | None = None

    @property
    def called(self) -> ToolCallFunction:
        """The function called (nameless and without arguments when the call names none)."""
        return self.function or ToolCallFunction()


class Monitor(msgspec.Struct):
    """``call.monitor``: where the live call can be heard."""

    listenUrl: str | None = None  # noqa: N815


class Call(msgspec.Struct):
    """``message.call``, as far as voiceauth reads it."""

    monitor: Monitor | None = None


class ToolCallsMessage(msgspec.Struct):
    """A ``tool-calls`` server message: the calls, and the call they were made in."""

    toolCallList: list[ToolCall] | None = None  # noqa: N815
    toolCalls: list[ToolCall] | None = None  # noqa: N815 - the list's older name
    call: Call | None = None

    @property
    def calls(self) -> list[ToolCall]:
        """The tool calls to answer, in order."""
        return self.toolCallList or self.toolCalls or []

    @property
    def listen_url(self) -> str | None:
        """The live call's listen socket (``call.monitor.listenUrl``), if VAPI sent one."""
        monitor = self.call.monitor if self.call else None
        return monitor.listenUrl if monitor else None


class ServerMessage(msgspec.Struct):
    """The body VAPI posts to a tool's server URL."""

    message: ToolCallsMessage | None = None


class _RawMessage(msgspec.Struct):
    """The message with its parts still undecoded, to keep what is readable of a broken one."""

    toolCallList: list[object] | None = None  # noqa: N815
    toolCalls: list[object] | None = None  # noqa: N815
    call: object | None = None


class _RawServerMessage(msgspec.Struct):
    message: _RawMessage | None = None


def _readable(value: object, kind: type[msgspec.Struct]) -> msgspec.Struct | None:
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return None


def decode_tool_calls(body: dict[str, object]) -> ToolCallsMessage:
    """The ``tool-calls`` message in a JSON object VAPI posted.

    VAPI expects HTTP 200 with a result per call whatever it sent, so a body that is not VAPI's
    documented shape is read part by part: each readable tool call is answered, the others are
    left out, and a body without calls is answered with no results, never a 400.
    """
    try:
        return msgspec.convert(body, ServerMessage).message or ToolCallsMessage()
    except msgspec.ValidationError:
        pass
    try:
        raw = msgspec.convert(body, _RawServerMessage).message
    except msgspec.ValidationError:
        return ToolCallsMessage()
    if raw is None:
        return ToolCallsMessage()
    items = raw.toolCallList or raw.toolCalls
    calls = [
        call for item in items or [] if isinstance(call := _readable(item, ToolCall), ToolCall)
    ]
    call = _readable(raw.call, Call) if raw.call is not None else None
    return ToolCallsMessage(toolCallList=calls, call=call if isinstance(call, Call) else None)


class ToolCallResult(msgspec.Struct, omit_defaults=True):
    """One answer to a VAPI tool call: ``result`` (spoken or acted on) or ``error``."""

    toolCallId: str  # noqa: N815
    result: str | None = None
    error: str | None = None


class ToolCallsResponse(msgspec.Struct):
    """The answer VAPI expects to a ``tool-calls`` server message."""

    results: list[ToolCallResult]
