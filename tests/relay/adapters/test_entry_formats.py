"""Client formats served from chat completions: /v1/messages, Gemini-native, /v1/responses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oneapi.errors import UnsupportedFeature
from oneapi.relay.formats.anthropic_client import ChatToAnthropicStream, chat_to_message, messages_to_chat
from oneapi.relay.formats.gemini_client import (
    ChatToGeminiStream,
    chat_to_gemini_response,
    gemini_request_to_chat,
)
from oneapi.relay.formats.responses import ChatToResponsesStream, chat_to_response, responses_to_chat
from tests.relay.adapters.streams import feed_in_pieces, sse_payloads


def _chat_stream(chunks: list[dict[str, Any]]) -> bytes:
    events = b"".join(b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks)
    return events + b"data: [DONE]\n\n"


def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-x", "choices": choices,
            **extra}


TOOL_STREAM = _chat_stream([
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"reasoning_content": "think"}),
    _chunk({"content": "Hello"}),
    _chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                            "function": {"name": "weather", "arguments": ""}}]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "\"Oslo\"}"}}]}),
    _chunk({}, "tool_calls"),
    _chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13,
                        "prompt_tokens_details": {"cached_tokens": 2}}),
])


@pytest.mark.parametrize(("budget", "effort"),
                         [(1024, "low"), (4096, "medium"), (8000, "medium"), (32000, "high")])
def test_messages_thinking_becomes_reasoning_effort(budget: int, effort: str) -> None:
    chat = messages_to_chat({"model": "m", "max_tokens": 64000,
                             "messages": [{"role": "user", "content": "hi"}],
                             "thinking": {"type": "enabled", "budget_tokens": budget}}).document
    assert chat["reasoning_effort"] == effort


def test_messages_without_thinking_set_no_effort() -> None:
    chat = messages_to_chat({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
                             "thinking": {"type": "disabled"}}).document
    assert "reasoning_effort" not in chat


def test_messages_request_becomes_chat() -> None:
    chat = messages_to_chat({
        "model": "claude-x", "max_tokens": 300, "system": [{"type": "text", "text": "Sys"}],
        "stop_sequences": ["Z"], "stream": True, "metadata": {"user_id": "u"},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Look"},
                                         {"type": "image",
                                          "source": {"type": "base64", "media_type": "image/gif",
                                                                      "data": "R0"}}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "x", "signature": "s"},
                                              {"type": "tool_use", "id": "tu1", "name": "f",
                                               "input": {"a": 1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1",
                                          "content": [{"type": "text", "text": "done"}], "is_error": True},
                                         {"type": "text", "text": "next"}]},
        ],
        "tools": [{"name": "f", "description": "F", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    }).document
    assert chat["messages"][0] == {"role": "system", "content": "Sys"}
    assert chat["messages"][1]["content"][1] == {"type": "image_url",
                                                 "image_url": {"url": "data:image/gif;base64,R0"}}
    assert chat["messages"][2] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "tu1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "tu1", "content": "Error: done"}
    assert chat["messages"][4] == {"role": "user", "content": "next"}
    assert chat["tool_choice"] == "required" and chat["parallel_tool_calls"] is False
    assert chat["stream_options"] == {"include_usage": True} and chat["user"] == "u" and chat["stop"] == ["Z"]


def test_chat_completion_becomes_message() -> None:
    message = chat_to_message({"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Hi", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3,
                  "prompt_tokens_details": {"cached_tokens": 4}}},
        "claude-x")
    assert message["type"] == "message" and message["model"] == "claude-x"
    assert message["content"] == [{"type": "text", "text": "Hi"},
                                  {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"] == {"input_tokens": 6, "output_tokens": 3, "cache_read_input_tokens": 4,
                                "cache_creation_input_tokens": 0}


def test_chat_stream_becomes_anthropic_events() -> None:
    converter = ChatToAnthropicStream("claude-x")
    events = sse_payloads(feed_in_pieces(converter, TOOL_STREAM, size=11))
    names = [name for name, _ in events]
    assert names == ["message_start", "content_block_start", "content_block_delta", "content_block_stop",
                     "content_block_start", "content_block_delta", "content_block_stop",
                     "content_block_start",
                     "content_block_delta", "content_block_delta", "content_block_stop", "message_delta",
                     "message_stop"]
    data = [json.loads(payload) for _, payload in events]
    assert data[1]["content_block"]["type"] == "thinking" and data[2]["delta"]["thinking"] == "think"
    assert data[5]["delta"] == {"type": "text_delta", "text": "Hello"}
    assert data[7]["content_block"] == {"type": "tool_use", "id": "call_a", "name": "weather", "input": {}}
    assert "".join(d["delta"]["partial_json"] for d in data[8:10]) == "{\"city\":\"Oslo\"}"
    assert data[11]["delta"]["stop_reason"] == "tool_use"
    assert data[11]["usage"]["output_tokens"] == 4 and data[11]["usage"]["input_tokens"] == 7
    assert converter.usage is not None and converter.usage.prompt_tokens == 9


def test_gemini_request_becomes_chat_and_answers_go_back() -> None:
    chat = gemini_request_to_chat({
        "systemInstruction": {"parts": [{"text": "Sys"}]},
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]},
                     {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"a": 1}}}]},
                     {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"r": 2}}}]}],
        "generationConfig": {"temperature": 0.1, "maxOutputTokens": 20, "stopSequences": ["S"],
                             "responseMimeType": "application/json"},
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT", "properties": {
            "a": {"type": "INTEGER"}}}}]}],
    }, "gemini-x", stream=False).document
    assert chat["messages"][0] == {"role": "system", "content": "Sys"}
    call_id = chat["messages"][2]["tool_calls"][0]["id"]
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": call_id, "name": "f",
                                   "content": "{\"r\":2}"}
    assert chat["max_tokens"] == 20 and chat["stop"] == ["S"]
    assert chat["response_format"] == {"type": "json_object"}
    assert chat["tools"][0]["function"]["parameters"] == {"type": "object",
                                                          "properties": {"a": {"type": "integer"}}}
    response = chat_to_gemini_response({"choices": [{"index": 0, "finish_reason": "length",
                                                     "message": {"role": "assistant", "content": "Yo"}}],
                                        "usage": {"prompt_tokens": 3, "completion_tokens": 2}}, "gemini-x")
    assert response["candidates"][0] == {"content": {"role": "model", "parts": [{"text": "Yo"}]}, "index": 0,
                                         "finishReason": "MAX_TOKENS"}
    assert response["usageMetadata"] == {"promptTokenCount": 3, "candidatesTokenCount": 2,
                                         "totalTokenCount": 5}


@pytest.mark.parametrize("sse_format", [True, False])
def test_chat_stream_becomes_gemini_stream(sse_format: bool) -> None:
    converter = ChatToGeminiStream("gemini-x", sse_format=sse_format)
    out = feed_in_pieces(converter, TOOL_STREAM, size=13)
    pieces = ([json.loads(payload) for _, payload in sse_payloads(out)] if sse_format
              else json.loads(out))
    texts = [part.get("text") for piece in pieces for part in piece["candidates"][0]["content"]["parts"]]
    assert texts[:2] == ["think", "Hello"]
    last = pieces[-1]
    assert last["candidates"][0]["content"]["parts"] == [{"functionCall": {"name": "weather",
                                                                           "args": {"city": "Oslo"}}}]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"]["promptTokenCount"] == 9


def test_responses_request_becomes_chat() -> None:
    chat = responses_to_chat({
        "model": "m", "instructions": "Sys", "max_output_tokens": 30, "reasoning": {"effort": "low"},
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi"},
                                               {"type": "input_image", "image_url": "https://x/y.png"}]},
                  {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                  {"type": "function_call_output", "call_id": "c1", "output": "42"}],
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}],
        "tool_choice": {"type": "function", "name": "f"},
        "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}}},
        "stream": True,
    }).chat
    assert chat["messages"][0] == {"role": "system", "content": "Sys"}
    assert chat["messages"][1]["content"][1] == {"type": "image_url", "image_url": {"url": "https://x/y.png",
                                                                                    "detail": "auto"}}
    assert chat["messages"][2]["tool_calls"][0]["id"] == "c1"
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "c1", "content": "42"}
    assert chat["max_tokens"] == 30 and chat["reasoning_effort"] == "low"
    assert chat["tools"][0]["function"]["strict"] is True
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    assert chat["response_format"]["json_schema"]["name"] == "s"
    with pytest.raises(UnsupportedFeature, match="previous_response_id"):
        responses_to_chat({"input": "hi", "previous_response_id": "resp_1"})


def test_chat_completion_becomes_response() -> None:
    response = chat_to_response({"model": "m", "created": 5, "choices": [{"index": 0, "finish_reason": "stop",
                                                                          "message": {"content": "Hey"}}],
                                 "usage": {"prompt_tokens": 2, "completion_tokens": 1}},
                                responses_to_chat({"model": "m", "input": "hi"}))
    assert response["object"] == "response" and response["status"] == "completed"
    assert response["output"][0]["content"][0] == {"type": "output_text", "text": "Hey", "annotations": []}
    assert response["usage"]["input_tokens"] == 2 and response["usage"]["total_tokens"] == 3


def test_chat_stream_becomes_responses_events() -> None:
    converter = ChatToResponsesStream(responses_to_chat({"model": "m", "input": "hi"}))
    events = [(name, json.loads(payload)) for name,
              payload in sse_payloads(feed_in_pieces(converter, TOOL_STREAM,
                                                                                           size=17))]
    names = [name for name, _ in events]
    assert names[:2] == ["response.created", "response.in_progress"]
    assert names[-1] == "response.completed"
    assert [data["sequence_number"] for _, data in events] == list(range(1, len(events) + 1))
    assert "".join(d["delta"] for n, d in events if n == "response.output_text.delta") == "Hello"
    arguments = next(d for n, d in events if n == "response.function_call_arguments.done")["arguments"]
    assert arguments == "{\"city\":\"Oslo\"}"
    final = events[-1][1]["response"]
    assert [item["type"] for item in final["output"]] == ["reasoning", "message", "function_call"]
    assert final["output"][2]["call_id"] == "call_a"
    assert final["usage"]["input_tokens"] == 9
    assert final["usage"]["input_tokens_details"]["cached_tokens"] == 2


def test_upstream_error_mid_stream_ends_each_client_format() -> None:
    """An error chunk from the OpenAI upstream closes the stream in the client's own format."""
    stream = (b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
              b'data: {"error":{"message":"overloaded"}}\n\n'
              b'data: {"choices":[{"index":0,"delta":{"content":"late"}}]}\n\n')

    anthropic = ChatToAnthropicStream("m")
    out = anthropic.feed(stream) + anthropic.finish()
    name, data = sse_payloads(out)[-1]
    assert name == "error"
    assert json.loads(data) == {"type": "error", "error": {"type": "api_error", "message": "overloaded"}}
    assert b"late" not in out

    gemini = ChatToGeminiStream("m")
    out = gemini.feed(stream) + gemini.finish()
    assert json.loads(sse_payloads(out)[-1][1]) == {"error": {"code": 500, "message": "overloaded",
                                                              "status": "INTERNAL"}}
    assert b"late" not in out

    responses = ChatToResponsesStream(responses_to_chat({"model": "m", "input": "hi"}))
    out = responses.feed(stream) + responses.finish()
    name, data = sse_payloads(out)[-1]
    failed = json.loads(data)
    assert name == failed["type"] == "response.failed"
    assert failed["response"]["error"] == {"code": "server_error", "message": "overloaded"}
    assert b"late" not in out
