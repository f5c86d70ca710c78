"""OpenAI chat ⇄ Gemini generateContent conversion (oneapi.relay.formats.gemini_upstream)."""

from __future__ import annotations

import json

import pytest

from oneapi.errors import UnsupportedFeature
from oneapi.relay.formats.events import UsageSniffer
from oneapi.relay.formats.gemini_upstream import (
    GeminiChatStream,
    chat_to_gemini,
    embeddings_from_gemini,
    embeddings_to_gemini,
    gemini_schema,
    gemini_to_chat,
    read_gemini_event,
)
from tests.relay.adapters.streams import chunks_of, feed_in_pieces


def test_roles_system_tools_and_function_responses() -> None:
    document = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Look"},
                                         {"type": "image_url",
                                          "image_url": {"url": "data:image/png;base64,AAA"}}]},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "weather", "arguments": "{\"c\":\"Oslo\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 3}"},
            {"role": "tool", "tool_call_id": "call_1", "content": "plain text"},
        ],
        "temperature": 0.5, "top_p": 0.8, "max_tokens": 64, "stop": ["X"], "seed": 1,
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {
            "type": "object", "additionalProperties": False, "$schema": "x",
            "properties": {"a": {"type": ["string", "null"]}}}}},
        "tools": [{"type": "function", "function": {"name": "weather", "parameters": {
            "type": "object", "properties": {"c": {"type": "string"}}, "additionalProperties": False}}}],
        "tool_choice": "required",
    }
    body = chat_to_gemini(document)
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert [content["role"] for content in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][0]["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": "AAA"}}
    assert body["contents"][1]["parts"] == [{"functionCall": {"name": "weather", "args": {"c": "Oslo"}}}]
    assert body["contents"][2]["parts"] == [
        {"functionResponse": {"name": "weather", "response": {"temp": 3}}},
        {"functionResponse": {"name": "weather", "response": {"content": "plain text"}}}]
    config = body["generationConfig"]
    assert config == {"temperature": 0.5, "topP": 0.8, "seed": 1, "maxOutputTokens": 64,
                      "stopSequences": ["X"],
                      "responseMimeType": "application/json",
                      "responseSchema": {"type": "object",
                                         "properties": {"a": {"type": "string", "nullable": True}}}}
    declaration = body["tools"][0]["functionDeclarations"][0]
    assert declaration["parameters"] == {"type": "object", "properties": {"c": {"type": "string"}}}
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


def test_named_tool_choice_and_unsupported_features() -> None:
    document = {"messages": [{"role": "user", "content": "hi"}],
                "tools": [{"type": "function", "function": {"name": "f"}}],
                "tool_choice": {"type": "function", "function": {"name": "f"}}}
    assert chat_to_gemini(document)["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}
    with pytest.raises(UnsupportedFeature, match=r"Gemini.*logprobs"):
        chat_to_gemini({"messages": [{"role": "user", "content": "hi"}], "logprobs": True})
    with pytest.raises(UnsupportedFeature, match="'custom' tools"):
        chat_to_gemini({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "custom"}]})


def test_schema_cleaning_is_recursive() -> None:
    schema = {"type": "object", "strict": True, "properties": {"xs": {"type": "array", "items": {
        "type": "object", "additionalProperties": False, "properties": {"y": {"type": "integer"}}}}}}
    assert gemini_schema(schema) == {"type": "object", "properties": {"xs": {"type": "array", "items": {
        "type": "object", "properties": {"y": {"type": "integer"}}}}}}


def test_response_with_thoughts_calls_and_usage_metadata() -> None:
    response = {
        "candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
            {"text": "thinking...", "thought": True}, {"text": "Calling."},
            {"functionCall": {"name": "weather", "args": {"c": "Rome"}}}]}}],
        "usageMetadata": {"promptTokenCount": 11, "candidatesTokenCount": 7, "thoughtsTokenCount": 5,
                          "totalTokenCount": 23},
        "modelVersion": "gemini-2.5-flash", "responseId": "abc",
    }
    completion = gemini_to_chat(response, "gemini")
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Calling."
    assert choice["message"]["reasoning_content"] == "thinking..."
    call = choice["message"]["tool_calls"][0]
    assert call["id"].startswith("call_") and json.loads(call["function"]["arguments"]) == {"c": "Rome"}
    assert completion["usage"] == {"prompt_tokens": 11, "completion_tokens": 12, "total_tokens": 23,
                                   "completion_tokens_details": {"reasoning_tokens": 5}}


def test_blocked_prompt_is_a_content_filter_finish() -> None:
    completion = gemini_to_chat({"promptFeedback": {"blockReason": "SAFETY"},
                                 "usageMetadata": {"promptTokenCount": 3}}, "gemini")
    assert completion["choices"][0]["finish_reason"] == "content_filter"
    assert completion["usage"]["prompt_tokens"] == 3


def _gemini_sse(pieces: list[dict]) -> bytes:
    return b"".join(b"data: " + json.dumps(piece).encode() + b"\r\n\r\n" for piece in pieces)


def test_stream_text_tool_calls_and_final_usage() -> None:
    upstream = _gemini_sse([
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}, "index": 0}],
         "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 1}},
        {"candidates": [{"content": {"role": "model", "parts": [
            {"text": "lo"}, {"functionCall": {"name": "f", "args": {"x": 1}}}]},
                         "index": 0, "finishReason": "STOP"}],
         "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 9, "totalTokenCount": 13}},
    ])
    converter = GeminiChatStream("gemini-2.0-flash", include_usage=True)
    chunks, done = chunks_of(feed_in_pieces(converter, upstream, size=5))
    assert done
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == "Hello"
    call = next(call for d in deltas for call in d.get("tool_calls", ()))
    assert call["function"] == {"name": "f", "arguments": "{\"x\":1}"} and call["index"] == 0
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert chunks[-1]["usage"]["completion_tokens"] == 9
    assert converter.usage is not None and converter.usage.prompt_tokens == 4


def test_embeddings_round_trip() -> None:
    request = embeddings_to_gemini({"input": ["a", "b"], "dimensions": 8}, "text-embedding-004")
    assert request == {"requests": [
        {"model": "models/text-embedding-004", "outputDimensionality": 8,
         "content": {"parts": [{"text": "a"}]}},
        {"model": "models/text-embedding-004", "outputDimensionality": 8,
         "content": {"parts": [{"text": "b"}]}}]}
    result = embeddings_from_gemini({"embeddings": [{"values": [0.1]}, {"values": [0.2]}]},
                                    "text-embedding-004")
    assert [item["embedding"] for item in result["data"]] == [[0.1], [0.2]]
    with pytest.raises(UnsupportedFeature):
        embeddings_to_gemini({"input": [[1, 2, 3]]}, "m")


def test_passed_through_stream_usage_is_the_last_running_total() -> None:
    upstream = _gemini_sse([
        {"candidates": [{"content": {"parts": [{"text": "A"}]}}], "usageMetadata": {"promptTokenCount": 4}},
        {"candidates": [{"content": {"parts": [{"text": "B"}]}, "finishReason": "STOP"}],
         "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2}},
    ])
    sniffer = UsageSniffer(read_gemini_event)
    assert feed_in_pieces(sniffer, upstream, size=6) == upstream
    assert sniffer.usage is not None and sniffer.usage.completion_tokens == 2
    assert sniffer.produced_text() == "AB"
