"""The real clients' recorded requests (tests/relay/fixtures/clients) through the conversions, both ways.

Each converted request must pass the strict vendor stand-in's own checks (what the real
API would refuse), and the answers must come back in the client's format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oneapi.errors import UnsupportedFeature
from oneapi.relay.client_formats import ANTHROPIC_MESSAGES, GEMINI_NATIVE, serving_adapter
from oneapi.relay.counting import count_prompt
from oneapi.relay.formats.anthropic_client import chat_to_message, messages_to_chat
from oneapi.relay.formats.anthropic_upstream import chat_to_anthropic
from oneapi.relay.formats.gemini_client import chat_to_gemini_response, gemini_request_to_chat
from oneapi.relay.formats.gemini_upstream import chat_to_gemini
from oneapi.relay.formats.ollama import chat_to_ollama
from tests.support.vendors.scripted import Refused, ScriptedAnthropic, ScriptedGemini, ScriptedOpenAI

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clients"
PDF = "JVBERi0xLjQK"  # "%PDF-1.4\n"


def _recorded(client: str, suffix: str) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((FIXTURES / client).glob(f"*{suffix}.json"))]


CLAUDE = _recorded("claude-code", "-messages")
GEMINI = [record for record in _recorded("gemini-cli", "") if record["body"]]


def _completion(content: str | None = None, calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return {"id": "c1", "object": "chat.completion", "model": "m", "choices": [
        {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}


def test_recordings_are_the_real_clients() -> None:
    first = json.loads(CLAUDE[0]["body"])
    assert first["model"] == "claude-opus-4-8" and len(first["tools"]) == 24
    assert "mid-conversation-system-2026-04-07" in CLAUDE[0]["headers"]["anthropic-beta"]
    assert len(CLAUDE[0]["headers"]["anthropic-beta"].split(",")) == 8
    assert first["messages"][-1]["role"] == "system"  # the default model's mid-conversation system message
    assert _recorded("claude-code", "")[0]["method"] == "HEAD"  # Claude Code probes HEAD / first
    assert GEMINI[-1]["query"] == {"alt": "sse"} and GEMINI[-1]["path"].endswith(":streamGenerateContent")


@pytest.mark.parametrize("record", CLAUDE, ids=lambda record: record["path"])
def test_claude_code_body_converts_for_every_vendor(record: dict[str, Any]) -> None:
    document = json.loads(record["body"])
    chat = messages_to_chat(document)
    assert chat.omitted == [] and chat.web_search == ""  # Claude Code's tools are all custom tools
    messages = chat.document["messages"]
    assert [message["role"] for message in messages].count("system") == 2  # top-level and mid-conversation
    assert messages[0]["content"].startswith("x-anthropic-billing-header")
    assert len(chat.document["tools"]) == 24
    ScriptedOpenAI.check(chat.document)
    anthropic_body = chat_to_anthropic(chat.document, "claude-sonnet-4-5").body
    ScriptedAnthropic().check(anthropic_body, betas="")  # no system role left inside messages
    ScriptedGemini.check(chat_to_gemini(chat.document))
    if document["messages"][-2]["role"] == "user" and any(
            block.get("type") == "tool_result" for block in document["messages"][-2]["content"]):
        assert any(message["role"] == "tool" for message in messages)


def test_claude_code_answers_come_back_as_messages() -> None:
    call = {"id": "call_1", "type": "function",
            "function": {"name": "Read", "arguments": '{"file_path": "/a"}'}}
    message = chat_to_message(_completion(calls=[call]), "claude-opus-4-8")
    assert message["content"] == [{"type": "tool_use", "id": "call_1", "name": "Read",
                                   "input": {"file_path": "/a"}}]
    assert message["stop_reason"] == "tool_use" and message["model"] == "claude-opus-4-8"


@pytest.mark.parametrize("record", GEMINI, ids=lambda record: record["path"])
def test_gemini_cli_body_converts_for_every_vendor(record: dict[str, Any]) -> None:
    document = json.loads(record["body"])
    model = record["path"].rsplit("/", 1)[-1].partition(":")[0]
    chat = gemini_request_to_chat(document, model, stream="stream" in record["path"])
    assert chat.omitted == []
    ScriptedOpenAI.check(chat.document)
    ScriptedAnthropic().check(chat_to_anthropic(chat.document, "claude-sonnet-4-5").body, betas="")
    ScriptedGemini.check(chat_to_gemini(chat.document))
    answer = chat_to_gemini_response(_completion("fine"), model)
    assert answer["candidates"][0]["content"]["parts"] == [{"text": "fine"}]


def test_recorded_bodies_parse_without_conversion_and_pass_through_untouched() -> None:
    record = CLAUDE[0]
    body = record["body"].encode()
    request = ANTHROPIC_MESSAGES.parse(body, record["headers"])
    assert request.model == "claude-opus-4-8" and request.stream and request.max_tokens == 64000
    assert request.client._chat is None and request.client._document is None  # nothing decoded yet
    channel = _Channel("anthropic")
    adapter = serving_adapter(_adapter("anthropic"), channel, request)  # type: ignore[arg-type]
    assert adapter is not None
    assert adapter.convert_request(channel, request, "claude-opus-4-8") is body  # type: ignore[arg-type]
    headers = adapter.request_headers(channel, "k", request)  # type: ignore[arg-type]
    assert headers["anthropic-beta"] == record["headers"]["anthropic-beta"]
    assert request.client._chat is None
    gemini = GEMINI[-1]
    parsed = GEMINI_NATIVE.parse(gemini["body"].encode(), "gemini-x", "streamGenerateContent", True)
    assert parsed.stream and parsed.client._document is None
    # only an upstream that reports no usage makes the gateway count, then in the chat form
    assert count_prompt(parsed) > 1000 and count_prompt(request) > 1000


def test_server_tools_map_or_are_omitted_by_name() -> None:
    document = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "news?"}],
                "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
                          {"type": "code_execution_20250522", "name": "code_execution"},
                          {"name": "f", "input_schema": {"type": "object"}}],
                "tool_choice": {"type": "tool", "name": "web_search"}}
    chat = messages_to_chat(document)
    assert chat.web_search == "web_search_20250305" and chat.omitted == ["code_execution_20250522"]
    assert chat.document["web_search_options"] == {} and chat.document["tool_choice"] == "auto"
    assert {"googleSearch": {}} in chat_to_gemini(chat.document)["tools"]
    anthropic_tools = chat_to_anthropic(chat.document, "c").body["tools"]
    assert {"type": "web_search_20250305", "name": "web_search"} in anthropic_tools
    gemini = gemini_request_to_chat({"contents": [{"role": "user", "parts": [{"text": "q"}]}],
                                     "tools": [{"googleSearch": {}}, {"codeExecution": {}}]},
                                    "g", stream=False)
    assert gemini.web_search == "googleSearch" and gemini.omitted == ["codeExecution"]
    assert "web_search_options" in gemini.document


def test_documents_go_to_file_inputs_or_are_a_400_naming_the_vendor() -> None:
    document = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
         "title": "report.pdf", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Summarise."}]}]}
    chat = messages_to_chat(document).document
    part = chat["messages"][0]["content"][0]
    assert part == {"type": "file", "file": {"filename": "report.pdf",
                                             "file_data": f"data:application/pdf;base64,{PDF}"}}
    ScriptedOpenAI.check(chat)
    assert chat_to_gemini(chat)["contents"][0]["parts"][0] == {"inlineData": {"mimeType": "application/pdf",
                                                                              "data": PDF}}
    block = chat_to_anthropic(chat, "c").body["messages"][0]["content"][0]
    assert block == {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                                     "data": PDF}}
    with pytest.raises(UnsupportedFeature, match=r"Ollama.*'file'"):
        chat_to_ollama(chat, "llama")
    gemini = gemini_request_to_chat({"contents": [{"role": "user", "parts": [
        {"inlineData": {"mimeType": "application/pdf", "data": PDF}}]}]}, "g", stream=False).document
    assert gemini["messages"][0]["content"][0]["type"] == "file"


def test_mid_conversation_system_is_kept_in_place_and_unknown_roles_use_anthropics_wording() -> None:
    chat = messages_to_chat({"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": "a"},
        {"role": "system", "content": [{"type": "text", "text": "Be terse."}]},
        {"role": "user", "content": "b"}]}).document
    assert [message["role"] for message in chat["messages"]] == ["user", "system", "user"]
    assert chat["messages"][1]["content"] == "Be terse."
    with pytest.raises(Exception, match='Unexpected role'):
        messages_to_chat({"model": "m", "messages": [{"role": "narrator", "content": "x"}]})


def test_the_strict_stand_ins_refuse_what_the_vendors_refuse() -> None:
    system_inside = {"max_tokens": 1, "messages": [{"role": "system", "content": "x"}]}
    with pytest.raises(Refused, match="Unexpected role"):
        ScriptedAnthropic().check(system_inside, betas="")
    ScriptedAnthropic().check(system_inside, betas="mid-conversation-system-2026-04-07")
    with pytest.raises(Refused, match="tool_calls"):
        ScriptedOpenAI.check({"messages": [{"role": "tool", "tool_call_id": "x", "content": "r"}]})
    with pytest.raises(Refused, match="Unknown name"):
        ScriptedGemini.check({"contents": [], "web_search_options": {}})


class _Kind:
    def __init__(self, api_format: str) -> None:
        self.api_format, self.name = api_format, api_format


class _Channel:
    def __init__(self, api_format: str) -> None:
        self.kind = _Kind(api_format)
        self.base_url, self.config, self.models, self.id = "http://vendor.invalid", {}, [], 1

    def upstream_model(self, model: str) -> str:
        return model


def _adapter(api_format: str) -> Any:
    from oneapi.relay.adapters import adapter_for

    return adapter_for(api_format)
