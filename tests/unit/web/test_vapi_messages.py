"""VAPI's ``tool-calls`` message decoded at the boundary: every shape VAPI sends, garbage too."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voiceauth_adapters.vapi.testing import tool_call_message
from voiceauth_web.vapi_messages import ToolCallFunction, VerifyVoiceArguments, decode_tool_calls

pytestmark = pytest.mark.unit

LISTEN = "wss://example.vapi.ai/call-1/listen"


def test_the_message_vapi_posts_is_read_whole() -> None:
    message = decode_tool_calls(tool_call_message({"phone": "+14155550123"}, listen_url=LISTEN))
    assert message.listen_url == LISTEN
    [call] = message.calls
    assert call.id == "call_tool_1"
    assert call.called.name == "verify_voice"
    assert call.called.verify_voice_arguments() == VerifyVoiceArguments(phone="+14155550123")


@pytest.mark.parametrize(
    "arguments",
    [
        {"userId": "u", "extra": [1, 2]},
        json.dumps({"userId": "u"}),
    ],
)
def test_arguments_come_as_an_object_or_a_json_string(arguments: object) -> None:
    body = {"message": {"toolCallList": [{"id": "a", "function": {"arguments": arguments}}]}}
    [call] = decode_tool_calls(body).calls
    assert call.called.verify_voice_arguments() == VerifyVoiceArguments(userId="u")


@pytest.mark.parametrize("arguments", [None, "", "  ", "{not json", "[1]", '{"phone": 5}', {}])
def test_unreadable_arguments_are_none(arguments: dict[str, object] | str | None) -> None:
    assert ToolCallFunction(arguments=arguments).verify_voice_arguments() == VerifyVoiceArguments()


def test_the_older_list_name_is_read_when_the_documented_one_is_empty() -> None:
    call = {"id": "b", "function": {"name": "other"}}
    for message in ({"toolCalls": [call]}, {"toolCallList": [], "toolCalls": [call]}):
        assert [c.id for c in decode_tool_calls({"message": message}).calls] == ["b"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": None},
        {"message": "x"},
        {"message": {"type": "status-update", "status": "ended"}},
        {"message": {"toolCallList": "abc"}},
        {"message": {"toolCallList": [5]}},
        {"message": {"toolCallList": [], "call": {}}},
    ],
)
def test_a_message_without_readable_calls_has_none(body: dict[str, object]) -> None:
    message = decode_tool_calls(body)
    assert message.calls == []
    assert message.listen_url is None


def test_the_readable_calls_of_a_partly_broken_message_are_kept() -> None:
    # As before the Structs: one broken item never costs the others their answers.
    good = {"id": "a", "function": {"name": "verify_voice", "arguments": {"userId": "u"}}}
    message = decode_tool_calls(
        {
            "message": {
                "toolCallList": [good, 5, {"id": None}, {"id": "c", "function": {"name": 7}}],
                "call": {"monitor": {"listenUrl": "wss://x.vapi.ai/1/listen"}},
            }
        }
    )
    assert [call.id for call in message.calls] == ["a"]
    assert message.listen_url == "wss://x.vapi.ai/1/listen"
    broken_call = decode_tool_calls({"message": {"toolCallList": [good], "call": {"monitor": 3}}})
    assert [call.id for call in broken_call.calls] == ["a"]
    assert broken_call.listen_url is None


def test_a_call_without_a_function_names_none() -> None:
    [call] = decode_tool_calls({"message": {"toolCallList": [{"function": None}]}}).calls
    assert call.id == ""
    assert call.called.name is None
    assert call.called.verify_voice_arguments() == VerifyVoiceArguments()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
# The keys the decoder reads, so that the garbage often lands where it looks.
_KEYS = st.sampled_from(
    [
        "message",
        "toolCallList",
        "toolCalls",
        "call",
        "monitor",
        "listenUrl",
        "id",
        "function",
        "name",
        "arguments",
        "userId",
        "phone",
    ]
)
_VAPI_LIKE = st.recursive(
    _JSON, lambda inner: st.dictionaries(_KEYS, inner, max_size=4), max_leaves=20
)


@given(st.dictionaries(_KEYS | st.text(max_size=8), _VAPI_LIKE, max_size=3))
def test_any_json_object_decodes_without_raising(body: dict[str, object]) -> None:
    message = decode_tool_calls(body)
    for call in message.calls:
        call.called.verify_voice_arguments()
