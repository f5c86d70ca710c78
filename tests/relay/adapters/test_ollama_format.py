"""OpenAI chat ⇄ Ollama /api/chat conversion (oneapi.relay.formats.ollama)."""

from __future__ import annotations

import json

import pytest

from oneapi.errors import UnsupportedFeature
from oneapi.relay.formats.ollama import (
    OllamaChatStream,
    chat_to_ollama,
    embeddings_from_ollama,
    embeddings_to_ollama,
    ollama_to_chat,
)
from tests.relay.adapters.streams import chunks_of, feed_in_pieces


def test_options_images_tools_and_json_mode() -> None:
    body = chat_to_ollama({
        "messages": [{"role": "user", "content": [{"type": "text", "text": "What is"},
                                                  {"type": "text", "text": "this?"},
                                                  {"type": "image_url",
                                                   "image_url": {"url": "data:image/png;base64,QQ=="}}]},
                     {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {
                         "name": "f", "arguments": "{\"a\":1}"}}]},
                     {"role": "tool", "tool_call_id": "c", "content": "ok"}],
        "temperature": 0.2, "top_p": 0.5, "seed": 3, "max_tokens": 50, "stop": "END", "stream": True,
        "response_format": {"type": "json_object"},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    }, "llama3.2")
    assert body["model"] == "llama3.2" and body["stream"] is True
    assert body["messages"][0] == {"role": "user", "content": "What is\nthis?", "images": ["QQ=="]}
    assert body["messages"][1]["tool_calls"] == [{"function": {"name": "f", "arguments": {"a": 1}}}]
    assert body["options"] == {"temperature": 0.2, "top_p": 0.5, "seed": 3, "num_predict": 50,
                               "stop": ["END"]}
    assert body["format"] == "json"
    assert body["tools"][0]["function"]["name"] == "f"
    with pytest.raises(UnsupportedFeature, match=r"Ollama.*'n'"):
        chat_to_ollama({"messages": [], "n": 3}, "m")


def test_response_usage_and_tool_calls() -> None:
    completion = ollama_to_chat({"model": "llama3.2", "done": True, "done_reason": "stop",
                                 "message": {"role": "assistant", "content": "", "thinking": "hm",
                                             "tool_calls": [{"function": {"name": "f", "arguments": {
                                                 "x": 2}}}]},
                                 "prompt_eval_count": 26, "eval_count": 8}, "llama3.2")
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["reasoning_content"] == "hm"
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {"x": 2}
    assert completion["usage"] == {"prompt_tokens": 26, "completion_tokens": 8, "total_tokens": 34}


def test_ndjson_stream_with_split_lines() -> None:
    lines = [{"model": "m", "message": {"role": "assistant", "content": "Hi"}, "done": False},
             {"model": "m", "message": {"role": "assistant", "content": " there"}, "done": False},
             {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True,
              "done_reason": "length",
              "prompt_eval_count": 5, "eval_count": 2}]
    upstream = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    converter = OllamaChatStream("m", include_usage=True)
    chunks, done = chunks_of(feed_in_pieces(converter, upstream, size=9))
    assert done
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hi there"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"
    assert chunks[-1]["usage"] == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}


def test_stream_error_line() -> None:
    converter = OllamaChatStream("m", include_usage=False)
    chunks, done = chunks_of(converter.feed(b'{"error":"model not found"}\n') + converter.finish())
    assert done and chunks == [{"error": {"message": "model not found", "type": "upstream_error",
                                          "param": None,
                                          "code": None}}]


def test_embeddings() -> None:
    assert embeddings_to_ollama({"input": ["a"]}, "nomic") == {"model": "nomic", "input": ["a"]}
    body, usage = embeddings_from_ollama({"model": "nomic", "embeddings": [[0.5, 0.25]],
                                          "prompt_eval_count": 3},
                                         "nomic")
    assert body["data"][0]["embedding"] == [0.5, 0.25] and usage.prompt_tokens == 3
