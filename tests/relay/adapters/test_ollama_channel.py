"""OpenAI clients on an Ollama channel: /api/chat with NDJSON streams, /api/embed."""

from __future__ import annotations

import json

import openai
import pytest

from tests.relay.adapters.conftest import VendorWorld
from tests.support.vendors import ollama as mock

TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]


def test_plain_chat_options_and_eval_count_billing(vendors: VendorWorld) -> None:
    key = vendors.key()
    completion = vendors.openai(key).chat.completions.create(
        model="llama-test", messages=[{"role": "user", "content": "hi"}], max_tokens=30, temperature=0.1)
    assert completion.choices[0].message.content == mock.REPLY
    sent = vendors.servers["ollama"].received[-1]
    assert sent.path == "/api/chat" and "Authorization" not in sent.headers
    assert sent.json()["options"] == {"temperature": 0.1,
                                      "num_predict": 30} and sent.json()["stream"] is False
    server = vendors.servers["ollama"]
    (log,) = vendors.seed.wait_logs(key, 1)
    assert (log.prompt_tokens, log.completion_tokens) == (server.prompt_tokens, server.output_tokens)


def test_ndjson_stream_becomes_sse(vendors: VendorWorld) -> None:
    key = vendors.key()
    chunks = list(vendors.openai(key).chat.completions.create(
        model="llama-test", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == mock.REPLY
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == vendors.servers["ollama"].prompt_tokens
    (log,) = vendors.seed.wait_logs(key, 1)
    assert log.is_stream and log.completion_tokens == vendors.servers["ollama"].output_tokens


def test_tool_call_round_trip(vendors: VendorWorld) -> None:
    client = vendors.openai()
    messages: list[dict] = [{"role": "user", "content": "Weather in Lima?"}]
    first = client.chat.completions.create(model="llama-test", messages=messages, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == mock.CALL_ARGS
    assert first.choices[0].finish_reason == "tool_calls"
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "cloudy"}]
    second = client.chat.completions.create(model="llama-test", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "The tool said: cloudy"
    sent = vendors.servers["ollama"].received[-1].json()["messages"]
    assert sent[1]["tool_calls"] == [{"function": {"name": "weather", "arguments": mock.CALL_ARGS}}]


def test_image_goes_in_images(vendors: VendorWorld) -> None:
    completion = vendors.openai().chat.completions.create(model="llama-test",
                                                          messages=[{"role": "user", "content": [
        {"type": "text", "text": "What?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]}])
    assert completion.choices[0].message.content == "I see 1 image(s)."
    assert vendors.servers["ollama"].received[-1].json()["messages"][0]["images"] == ["iVBO"]


def test_embeddings_use_api_embed(vendors: VendorWorld) -> None:
    result = vendors.openai().embeddings.create(model="nomic-embed-text", input="hello")
    assert result.data[0].embedding == [0.25, 0.0]
    assert result.usage.prompt_tokens == vendors.servers["ollama"].prompt_tokens
    assert vendors.servers["ollama"].received[-1].path == "/api/embed"


def test_vendor_error_keeps_ollama_message(vendors: VendorWorld) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        vendors.openai().chat.completions.create(model="llama-broken",
                                                 messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["message"] == "ollama says 400"  # type: ignore[index]
