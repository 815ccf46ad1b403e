"""VAPI's server messages beyond ``tool-calls``: status updates, the call's account, the shapes
of VAPI's own examples, and each tool's timeout."""

from __future__ import annotations

import json

import pytest

from voiceauth_web.vapi_messages import (
    DEFAULT_TIMEOUT_S,
    VerifyVoiceArguments,
    decode_server_message,
)

pytestmark = pytest.mark.unit

LISTEN = "wss://example.vapi.ai/call-1/listen"


def test_a_status_update_names_the_call_its_socket_and_its_account() -> None:
    message = decode_server_message(
        {
            "message": {
                "type": "status-update",
                "status": "in-progress",
                "call": {
                    "id": "call-1",
                    "monitor": {"listenUrl": LISTEN},
                    "customer": {"number": "+14155550123"},
                    "assistantOverrides": {"variableValues": {"userId": " u-1 "}},
                },
            }
        }
    )
    assert (message.type, message.status, message.call_id) == (
        "status-update",
        "in-progress",
        "call-1",
    )
    assert message.listen_url == LISTEN
    assert message.customer_number == "+14155550123"
    assert message.named_user == "u-1"


def test_metadata_names_the_account_first_and_the_message_customer_is_a_fallback() -> None:
    message = decode_server_message(
        {
            "message": {
                "call": {
                    "metadata": {"userId": "m"},
                    "assistantOverrides": {"variableValues": {"userId": "v"}},
                },
                "customer": {"number": "+442071838750"},
            }
        }
    )
    assert message.named_user == "m"
    assert message.customer_number == "+442071838750"
    assert (
        decode_server_message({"message": {"call": {"metadata": {"userId": 5}}}}).named_user is None
    )


@pytest.mark.parametrize(
    "item",
    [
        {"id": "a", "name": "verify_voice", "arguments": {"userId": "u"}},
        {"id": "a", "name": "verify_voice", "parameters": {"userId": "u"}},
        {"id": "a", "name": "verify_voice", "arguments": json.dumps({"userId": "u"})},
        {"id": "a", "function": {"name": "verify_voice", "parameters": {"userId": "u"}}},
    ],
)
def test_the_flattened_shapes_of_vapi_examples_are_read(item: dict[str, object]) -> None:
    [call] = decode_server_message(
        {"message": {"type": "tool-calls", "toolCallList": [item]}}
    ).calls
    assert call.id == "a"
    assert call.called.name == "verify_voice"
    assert call.called.verify_voice_arguments() == VerifyVoiceArguments(userId="u")


def test_each_tool_call_has_its_tool_timeout() -> None:
    first = {"id": "a", "function": {"name": "verify_voice", "arguments": "{}"}}
    second = {"id": "b", "function": {"name": "enroll_voice", "arguments": "{}"}}
    message = decode_server_message(
        {
            "message": {
                "type": "tool-calls",
                "toolCallList": [first, second],
                "toolWithToolCallList": [
                    {
                        "type": "function",
                        "function": {"name": "verify_voice"},
                        "server": {"timeoutSeconds": 7},
                        "toolCall": first,
                    },
                    {
                        "type": "function",
                        "function": {"name": "enroll_voice"},
                        "server": {"url": "https://x"},
                        "toolCall": second,
                    },
                ],
            }
        }
    )
    a, b = message.calls
    assert message.timeout_for(a) == 7.0
    assert message.timeout_for(b) == DEFAULT_TIMEOUT_S


def test_the_calls_are_read_from_tool_with_tool_call_list_alone() -> None:
    call = {"id": "z", "function": {"name": "verify_voice", "arguments": {"phone": "+1"}}}
    message = decode_server_message(
        {"message": {"toolWithToolCallList": [{"server": {"timeoutSeconds": 3}, "toolCall": call}]}}
    )
    assert [c.id for c in message.calls] == ["z"]
    assert message.timeout_for(message.calls[0]) == 3.0


def test_a_broken_call_field_costs_only_itself() -> None:
    message = decode_server_message(
        {
            "message": {
                "type": "status-update",
                "status": "in-progress",
                "toolCallList": [5],
                "call": {"id": "c", "monitor": 3, "customer": {"number": "+14155550123"}},
            }
        }
    )
    assert message.type == "status-update"
    assert message.call_id == "c"
    assert message.listen_url is None
    assert message.customer_number == "+14155550123"
    assert message.calls == []
