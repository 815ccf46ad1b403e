"""VAPI's server messages and the answers to them, as msgspec Structs.

The shapes are VAPI's (``ServerMessageToolCalls``, ``ServerMessageStatusUpdate``,
``ServerMessageSpeechUpdate``, ``ServerMessageEndOfCallReport``, ``ToolCall``,
``ToolCallFunction``, ``Server``, ``ServerMessageResponseToolCalls`` in its OpenAPI document),
reduced to the fields voiceauth reads; other fields, and other message types, are ignored. Every
field may be missing: a message that carries nothing voiceauth reads is answered, never refused.

Tool calls come in the shapes VAPI's own examples show: ``toolCallList`` items with
``function: {name, arguments}`` (arguments as an object or a JSON string), flattened items with
``name`` and ``arguments`` or ``parameters``, the older ``toolCalls`` list, and
``toolWithToolCallList`` items that carry the tool's definition (its ``server.timeoutSeconds``)
beside its ``toolCall``.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "AssistantOverrides",
    "Call",
    "Customer",
    "EnrollVoiceArguments",
    "Monitor",
    "NoContent",
    "ServerMessage",
    "ToolCall",
    "ToolCallFunction",
    "ToolCallResult",
    "ToolCallsMessage",
    "ToolCallsResponse",
    "ToolServer",
    "ToolWithToolCall",
    "VerifyVoiceArguments",
    "decode_server_message",
    "decode_tool_calls",
]

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)

#: How long VAPI waits for a tool's answer when the tool does not say (``Server.timeoutSeconds``).
DEFAULT_TIMEOUT_S = 20.0


class VerifyVoiceArguments(msgspec.Struct):
    """The ``verify_voice`` function's arguments: the account, by user id or by phone number."""

    userId: str | None = None  # noqa: N815 - the tool's parameter names, as the assistant sends them
    phone: str | None = None


class EnrollVoiceArguments(msgspec.Struct):
    """The ``enroll_voice`` function's arguments: the account, and how the caller's identity
    was confirmed before their voice is enrolled (``otp``, ``security_questions``, ...)."""

    userId: str | None = None  # noqa: N815
    phone: str | None = None
    confirmedBy: str | None = None  # noqa: N815


_VERIFY_ARGUMENTS = msgspec.json.Decoder(VerifyVoiceArguments)
_ENROLL_ARGUMENTS = msgspec.json.Decoder(EnrollVoiceArguments)


class ToolCallFunction(msgspec.Struct):
    """The function the assistant calls; VAPI sends its arguments as an object or a JSON string
    (under ``arguments``, or ``parameters`` in some of its examples)."""

    name: str | None = None
    arguments: dict[str, object] | str | None = None
    parameters: dict[str, object] | str | None = None

    def _decode(self, kind: type[T], decoder: msgspec.json.Decoder[T]) -> T:
        raw = self.arguments if self.arguments is not None else self.parameters
        try:
            if isinstance(raw, str):
                return decoder.decode(raw)
            return msgspec.convert(raw or {}, kind)
        except msgspec.DecodeError:  # ValidationError included: JSON, but not those arguments
            return kind()

    def verify_voice_arguments(self) -> VerifyVoiceArguments:
        """The arguments as ``verify_voice`` takes them; none when they are not such an object."""
        return self._decode(VerifyVoiceArguments, _VERIFY_ARGUMENTS)

    def enroll_voice_arguments(self) -> EnrollVoiceArguments:
        """The arguments as ``enroll_voice`` takes them; none when they are not such an object."""
        return self._decode(EnrollVoiceArguments, _ENROLL_ARGUMENTS)


class ToolCall(msgspec.Struct):
    """One function call the assistant asks for; ``id`` goes back with its result."""

    id: str = ""
    function: ToolCallFunction | None = None
    # The flattened shape: the function's name and arguments on the item itself.
    name: str | None = None
    arguments: dict[str, object] | str | None = None
    parameters: dict[str, object] | str | None = None

    @property
    def called(self) -> ToolCallFunction:
        """The function called (nameless and without arguments when the call names none)."""
        function = self.function or ToolCallFunction()
        return ToolCallFunction(
            name=function.name or self.name,
            arguments=function.arguments if function.arguments is not None else self.arguments,
            parameters=(
                function.parameters if function.parameters is not None else self.parameters
            ),
        )


class ToolServer(msgspec.Struct):
    """A tool's ``server``: how long VAPI waits for its answer."""

    timeoutSeconds: float | None = None  # noqa: N815


class ToolDefinition(msgspec.Struct):
    """A tool's ``function`` definition, as far as its name."""

    name: str | None = None


class ToolWithToolCall(msgspec.Struct):
    """An item of ``toolWithToolCallList``: the tool's definition beside the call made of it."""

    function: ToolDefinition | None = None
    name: str | None = None
    server: ToolServer | None = None
    toolCall: ToolCall | None = None  # noqa: N815


class Monitor(msgspec.Struct):
    """``call.monitor``: where the live call can be heard."""

    listenUrl: str | None = None  # noqa: N815


class Customer(msgspec.Struct):
    """``call.customer`` (or ``message.customer``): the caller's number, a claim, not an
    identity."""

    number: str | None = None


class AssistantOverrides(msgspec.Struct):
    """``call.assistantOverrides``: the variables the call was started with."""

    variableValues: dict[str, object] | None = None  # noqa: N815


class Call(msgspec.Struct):
    """``message.call``, as far as voiceauth reads it."""

    id: str | None = None
    monitor: Monitor | None = None
    customer: Customer | None = None
    metadata: dict[str, object] | None = None
    assistantOverrides: AssistantOverrides | None = None  # noqa: N815


class ToolCallsMessage(msgspec.Struct):
    """A server message: its type, the call it is about, and any tool calls in it.

    (The name is the ``tool-calls`` message's; every server message decodes into it.)
    """

    type: str | None = None
    status: str | None = None
    # ``speech-update``'s: whose speech (``assistant``, ``user``) started or stopped.
    role: str | None = None
    toolCallList: list[ToolCall] | None = None  # noqa: N815
    toolCalls: list[ToolCall] | None = None  # noqa: N815 - the list's older name
    toolWithToolCallList: list[ToolWithToolCall] | None = None  # noqa: N815
    call: Call | None = None
    customer: Customer | None = None

    @property
    def calls(self) -> list[ToolCall]:
        """The tool calls to answer, in order (from ``toolWithToolCallList`` when that is the
        only list sent)."""
        listed = self.toolCallList or self.toolCalls
        if listed:
            return listed
        return [item.toolCall for item in self.toolWithToolCallList or [] if item.toolCall]

    @property
    def listen_url(self) -> str | None:
        """The live call's listen socket (``call.monitor.listenUrl``), if VAPI sent one."""
        monitor = self.call.monitor if self.call else None
        return monitor.listenUrl if monitor else None

    @property
    def call_id(self) -> str | None:
        """``call.id``, if VAPI sent one."""
        return self.call.id if self.call and self.call.id else None

    @property
    def customer_number(self) -> str | None:
        """The caller's number (``call.customer.number``, else ``message.customer.number``)."""
        for customer in (self.call.customer if self.call else None, self.customer):
            if customer is not None and customer.number:
                return customer.number
        return None

    @property
    def named_user(self) -> str | None:
        """The account's ``userId`` the call was started with (``call.metadata`` or
        ``call.assistantOverrides.variableValues``), if any."""
        if self.call is None:
            return None
        overrides = self.call.assistantOverrides
        for values in (self.call.metadata, overrides.variableValues if overrides else None):
            found = (values or {}).get("userId")
            if isinstance(found, str) and found.strip():
                return found.strip()
        return None

    def timeout_for(self, call: ToolCall) -> float:
        """Seconds VAPI waits for ``call``'s answer: its tool's ``server.timeoutSeconds``."""
        for item in self.toolWithToolCallList or []:
            same_call = item.toolCall is not None and item.toolCall.id == call.id
            tool_name = item.function.name if item.function else item.name
            same_tool = item.toolCall is None and tool_name == call.called.name
            if (same_call or same_tool) and item.server and item.server.timeoutSeconds:
                return float(item.server.timeoutSeconds)
        return DEFAULT_TIMEOUT_S


class ServerMessage(msgspec.Struct):
    """The body VAPI posts to a server URL."""

    message: ToolCallsMessage | None = None


class _RawMessage(msgspec.Struct):
    """The message with its parts still undecoded, to keep what is readable of a broken one."""

    type: object | None = None
    status: object | None = None
    role: object | None = None
    toolCallList: list[object] | None = None  # noqa: N815
    toolCalls: list[object] | None = None  # noqa: N815
    toolWithToolCallList: list[object] | None = None  # noqa: N815
    call: object | None = None
    customer: object | None = None


class _RawServerMessage(msgspec.Struct):
    message: _RawMessage | None = None


def _readable(value: object, kind: type[S]) -> S | None:
    if value is None:
        return None
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return None


def _readable_call(value: object) -> Call | None:
    """The call object, field by field: a broken field costs only itself."""
    if not isinstance(value, dict):
        return None
    return Call(
        id=value.get("id") if isinstance(value.get("id"), str) else None,
        monitor=_readable(value.get("monitor"), Monitor),
        customer=_readable(value.get("customer"), Customer),
        metadata=value.get("metadata") if isinstance(value.get("metadata"), dict) else None,
        assistantOverrides=_readable(value.get("assistantOverrides"), AssistantOverrides),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def decode_server_message(body: dict[str, object]) -> ToolCallsMessage:
    """The server message in a JSON object VAPI posted.

    VAPI expects HTTP 200 whatever it sent, so a body that is not VAPI's documented shape is read
    part by part: each readable tool call is answered, the others are left out, and a body
    without a readable message is an empty message, never a 400.
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
    calls = [call for item in items or [] if (call := _readable(item, ToolCall)) is not None]
    tools = [
        tool
        for item in raw.toolWithToolCallList or []
        if (tool := _readable(item, ToolWithToolCall)) is not None
    ]
    return ToolCallsMessage(
        type=_text(raw.type),
        status=_text(raw.status),
        role=_text(raw.role),
        toolCallList=calls,
        toolWithToolCallList=tools or None,
        call=_readable_call(raw.call),
        customer=_readable(raw.customer, Customer),
    )


def decode_tool_calls(body: dict[str, object]) -> ToolCallsMessage:
    """The ``tool-calls`` message in a JSON object VAPI posted (see
    :func:`decode_server_message`, which reads every server message)."""
    return decode_server_message(body)


class ToolCallResult(msgspec.Struct, omit_defaults=True):
    """One answer to a VAPI tool call: ``result`` (spoken or acted on) or ``error``, with the
    call's id and the tool's name."""

    toolCallId: str  # noqa: N815
    name: str | None = None
    result: str | None = None
    error: str | None = None


class ToolCallsResponse(msgspec.Struct):
    """The answer VAPI expects to a ``tool-calls`` server message."""

    results: list[ToolCallResult]


class NoContent(msgspec.Struct):
    """The answer to every other server message: ``{}``."""
