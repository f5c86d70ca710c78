"""The recorded Codex and AI SDK bodies (``tests/clients/record.py``) through the conversions.

Toward Anthropic and Gemini: the ``multi_agent_v1`` namespace becomes plain functions with
unique names, ``web_search`` the vendor's own search, and each body is accepted by the
vendor's conversion whole. Back: a call of a flattened function is answered with its
namespace again, in whole answers and streams, and the next turn's history (the call as
Codex sends it back) names the same flattened function.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oneapi.errors import NotFound
from oneapi.relay.formats.anthropic_upstream import chat_to_anthropic
from oneapi.relay.formats.gemini_upstream import chat_to_gemini
from oneapi.relay.formats.responses import ChatToResponsesStream, chat_to_response, responses_to_chat
from tests.relay.adapters.streams import sse_payloads

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "responses"


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _namespace_members(body: dict) -> list[str]:
    return [member["name"] for tool in body["tools"] if tool["type"] == "namespace"
            for member in tool["tools"]]


@pytest.mark.parametrize("name", ["codex_1", "codex_2"])
def test_codex_body_to_anthropic(name: str) -> None:
    body = _fixture(name)
    conversion = responses_to_chat(body, history=[], hosted={"web_search"})
    assert conversion.omitted == []
    anthropic = chat_to_anthropic(conversion.chat, "claude-x").body
    names = [tool.get("name") for tool in anthropic["tools"]]
    assert len(names) == len(set(names))
    for member in _namespace_members(body):
        assert f"multi_agent_v1__{member}" in names
        assert conversion.names[f"multi_agent_v1__{member}"] == ("multi_agent_v1", member)
    assert anthropic["tools"][-1] == {"type": "web_search_20250305", "name": "web_search"}
    assert anthropic["system"] and anthropic["messages"][0]["role"] == "user"


def test_codex_body_to_gemini_and_to_a_vendor_without_search() -> None:
    body = _fixture("codex_2")
    gemini = chat_to_gemini(responses_to_chat(body, history=[], hosted={"web_search"}).chat)
    declarations = gemini["tools"][0]["functionDeclarations"]
    assert "multi_agent_v1__wait_agent" in [declaration["name"] for declaration in declarations]
    assert gemini["tools"][-1] == {"googleSearch": {}}
    plain = responses_to_chat(body, history=[], hosted=())
    assert plain.omitted == ["web_search"] and "web_search_options" not in plain.chat
    call, output = plain.chat["messages"][-2:]
    assert call["tool_calls"][0]["function"]["name"] == "exec_command"
    assert output["role"] == "tool" and "hello-from-tool" in output["content"]


def test_a_flattened_call_comes_back_with_its_namespace() -> None:
    conversion = responses_to_chat(_fixture("codex_1"), history=[])
    completion = {"model": "m", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "multi_agent_v1__spawn_agent", "arguments": "{}"}}]}}]}
    call = chat_to_response(completion, conversion)["output"][0]
    assert (call["namespace"], call["name"], call["call_id"]) == ("multi_agent_v1", "spawn_agent", "call_1")
    assert call["id"].startswith(f"fc_{conversion.response_id.removeprefix('resp_')}_")
    stream = ChatToResponsesStream(conversion)
    chunk = {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "function": {
        "name": "multi_agent_v1__spawn_agent", "arguments": "{}"}}]}, "finish_reason": "tool_calls"}]}
    out = stream.feed(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()) + stream.finish()
    final = json.loads(sse_payloads(out)[-1][1])["response"]
    assert final["output"][0]["namespace"] == "multi_agent_v1" and final["output"][0]["name"] == "spawn_agent"
    again = responses_to_chat({**_fixture("codex_1"), "input": [
        {"type": "function_call", "call_id": "call_1", "namespace": "multi_agent_v1", "name": "spawn_agent",
         "arguments": "{}"}, {"type": "function_call_output", "call_id": "call_1", "output": "ok"}]},
        history=[])
    assert again.chat["messages"][0]["tool_calls"][0]["function"]["name"] == "multi_agent_v1__spawn_agent"


def test_ai_sdk_item_reference_needs_the_stored_item() -> None:
    body = _fixture("ai_sdk_2")
    said = {"type": "message", "id": "msg_mock0", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}]}
    chat = responses_to_chat(body, history=[], references={"msg_mock0": said}).chat
    assert [message["role"] for message in chat["messages"]] == ["user", "assistant", "tool"]
    assert chat["messages"][1]["content"] == "Let me check."
    assert chat["messages"][1]["tool_calls"][0]["function"]["name"] == "weather"
    with pytest.raises(NotFound, match="msg_mock0"):
        responses_to_chat(body, history=[], references={})
