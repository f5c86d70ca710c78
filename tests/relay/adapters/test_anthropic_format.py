"""OpenAI chat ⇄ Anthropic Messages conversion (oneapi.relay.formats.anthropic_upstream)."""

from __future__ import annotations

import json

import pytest

from oneapi.errors import InvalidRequest, UnsupportedFeature
from oneapi.relay.formats.anthropic_upstream import (
    AnthropicChatStream,
    chat_to_anthropic,
    message_to_chat,
    read_anthropic_event,
)
from oneapi.relay.formats.events import UsageSniffer
from oneapi.relay.formats.media import InlineImage
from tests.relay.adapters.streams import anthropic_events, chunks_of, feed_in_pieces


def test_system_messages_tools_and_results_are_mapped() -> None:
    document = {
        "model": "claude", "temperature": 0.3, "top_p": 0.9, "stop": "END", "user": "u1",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "toolu_1", "type": "function",
                 "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
            {"role": "user", "content": "And tomorrow?"},
        ],
        "tools": [{"type": "function", "function": {
            "name": "weather", "description": "Look up weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "parallel_tool_calls": False,
    }
    converted = chat_to_anthropic(document, "claude-sonnet-4-5")
    body = converted.body
    assert body["model"] == "claude-sonnet-4-5"
    assert body["max_tokens"] == 4096
    assert body["system"] == [{"type": "text", "text": "Be brief."},
                              {"type": "text", "text": "Use metric units."}]
    assert body["stop_sequences"] == ["END"] and body["metadata"] == {"user_id": "u1"}
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9
    roles = [turn["role"] for turn in body["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == [{"type": "tool_use", "id": "toolu_1", "name": "weather",
                                               "input": {"city": "Paris"}}]
    # the tool result and the next user question share one user turn
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
        {"type": "text", "text": "And tomorrow?"}]
    assert body["tools"] == [{"name": "weather", "description": "Look up weather",
                              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    assert body["tool_choice"] == {"type": "tool", "name": "weather", "disable_parallel_tool_use": True}


def test_images_are_inlined_from_data_urls_and_fetched_ones() -> None:
    document = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "Compare"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,QUJD"}},
        {"type": "image_url", "image_url": {"url": "https://example.test/cat.png"}}]}]}
    fetched = {"https://example.test/cat.png": InlineImage("image/png", "REVG")}
    blocks = chat_to_anthropic(document, "claude", fetched).body["messages"][0]["content"]
    assert blocks[1] == {"type": "image",
                         "source": {"type": "base64", "media_type": "image/jpeg", "data": "QUJD"}}
    assert blocks[2]["source"] == {"type": "base64", "media_type": "image/png", "data": "REVG"}
    with pytest.raises(InvalidRequest, match="could not be loaded"):
        chat_to_anthropic(document, "claude", {})


@pytest.mark.parametrize(("field", "value"), [("n", 2), ("logprobs", True), ("presence_penalty", 0.5),
                                               ("seed", 7)])
def test_features_anthropic_lacks_are_a_400_naming_them(field: str, value: object) -> None:
    document = {"messages": [{"role": "user", "content": "hi"}], field: value}
    with pytest.raises(UnsupportedFeature) as caught:
        chat_to_anthropic(document, "claude")
    assert field in caught.value.message and "Anthropic" in caught.value.message
    assert caught.value.status_code == 400


def test_defaults_of_unsupported_fields_are_accepted() -> None:
    document = {"messages": [{"role": "user", "content": "hi"}], "n": 1, "presence_penalty": 0,
                "logprobs": False, "max_completion_tokens": 100}
    assert chat_to_anthropic(document, "claude").body["max_tokens"] == 100


def test_reasoning_effort_becomes_a_thinking_budget() -> None:
    body = chat_to_anthropic({"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "medium",
                              "max_tokens": 1000}, "claude").body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert body["max_tokens"] > 4096


def test_json_mode_uses_a_forced_tool_and_answers_text() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}}
    converted = chat_to_anthropic({"messages": [{"role": "user", "content": "2+2"}],
                                   "response_format": {"type": "json_schema",
                                                       "json_schema": {"name": "sum", "schema": schema}}},
                                                       "claude")
    assert converted.json_tool
    assert converted.body["tools"][0]["input_schema"] == schema
    assert converted.body["tool_choice"] == {"type": "tool", "name": "json_response"}
    message = {"id": "msg_1", "model": "claude", "stop_reason": "tool_use",
               "content": [{"type": "tool_use", "id": "t", "name": "json_response", "input": {"answer": 4}}],
               "usage": {"input_tokens": 5, "output_tokens": 3}}
    choice = message_to_chat(message, json_tool=True)["choices"][0]
    assert json.loads(choice["message"]["content"]) == {"answer": 4}
    assert choice["finish_reason"] == "stop" and "tool_calls" not in choice["message"]


def test_response_with_thinking_tool_use_and_cache_usage() -> None:
    message = {
        "id": "msg_abc", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "thinking", "thinking": "Let me see.", "signature": "sig"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_9", "name": "weather", "input": {"city": "Oslo"}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 100,
                  "cache_creation_input_tokens": 50},
    }
    completion = message_to_chat(message)
    assert completion["id"] == "chatcmpl-msg_abc"
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Checking."
    assert choice["message"]["reasoning_content"] == "Let me see."
    call = choice["message"]["tool_calls"][0]
    assert call["id"] == "toolu_9" and json.loads(call["function"]["arguments"]) == {"city": "Oslo"}
    assert completion["usage"]["prompt_tokens"] == 160
    assert completion["usage"]["completion_tokens"] == 20
    assert completion["usage"]["prompt_tokens_details"] == {"cached_tokens": 100, "cache_write_tokens": 50}


@pytest.mark.parametrize(("stop", "finish"), [("end_turn", "stop"), ("max_tokens", "length"),
                                              ("stop_sequence", "stop"), ("refusal", "content_filter")])
def test_stop_reasons(stop: str, finish: str) -> None:
    message = {"id": "m", "content": [{"type": "text", "text": "x"}], "stop_reason": stop, "usage": {}}
    assert message_to_chat(message)["choices"][0]["finish_reason"] == finish


def test_stream_maps_every_event_type_even_when_split_mid_event() -> None:
    upstream = anthropic_events([
        {"type": "message_start", "message": {"id": "msg_s", "model": "claude-x", "content": [],
                                              "usage": {"input_tokens": 12, "cache_read_input_tokens": 4,
                                                        "output_tokens": 1}}},
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "s"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Héllo"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2,
         "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}},
        {"type": "content_block_delta", "index": 2,
         "delta": {"type": "input_json_delta", "partial_json": "{\"ci"}},
        {"type": "content_block_delta", "index": 2,
         "delta": {"type": "input_json_delta", "partial_json": "ty\": 1}"}},
        {"type": "content_block_stop", "index": 2},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}},
        {"type": "message_stop"},
    ])
    converter = AnthropicChatStream("claude", include_usage=True)
    out = feed_in_pieces(converter, upstream, size=7)
    chunks, done = chunks_of(out)
    assert done
    assert all(chunk["id"] == "chatcmpl-msg_s" and chunk["model"] == "claude-x" for chunk in chunks)
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]
    assert deltas[0]["role"] == "assistant"
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "Hmm"
    assert "".join(d.get("content") or "" for d in deltas) == "Héllo"
    calls = [call for d in deltas for call in d.get("tool_calls", ())]
    assert calls[0] == {"index": 0, "id": "toolu_1", "type": "function",
                        "function": {"name": "weather", "arguments": ""}}
    assert "".join(call["function"]["arguments"] for call in calls) == "{\"city\": 1}"
    finishes = [chunk["choices"][0]["finish_reason"] for chunk in chunks if chunk["choices"]]
    assert finishes[-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 16
    assert chunks[-1]["usage"]["completion_tokens"] == 30
    assert converter.usage is not None and converter.usage.cached_tokens == 4


def test_stream_hides_usage_unless_asked_and_reports_errors() -> None:
    upstream = anthropic_events([
        {"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 3}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ])
    converter = AnthropicChatStream("c", include_usage=False)
    chunks, done = chunks_of(converter.feed(upstream) + converter.finish())
    assert done
    assert chunks[-1] == {"error": {"message": "Overloaded", "type": "overloaded_error", "param": None,
                                    "code": None}}
    assert all("usage" not in chunk for chunk in chunks)
    assert converter.produced_text() == "Hi"


def test_passed_through_stream_is_untouched_and_its_usage_read() -> None:
    upstream = anthropic_events([
        {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 8, "output_tokens": 1}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Yes"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
         "usage": {"output_tokens": 3, "input_tokens": 9}},
    ])
    sniffer = UsageSniffer(read_anthropic_event)
    assert feed_in_pieces(sniffer, upstream, size=10) == upstream
    assert sniffer.usage is not None
    assert (sniffer.usage.prompt_tokens, sniffer.usage.completion_tokens) == (9, 3)
    assert sniffer.produced_text() == "Yes"
