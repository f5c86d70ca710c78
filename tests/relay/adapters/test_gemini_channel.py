"""OpenAI clients on a Gemini channel: conversions, streams, tools, images, embeddings, errors."""

from __future__ import annotations

import json

import openai
import pytest

from tests.relay.adapters.conftest import CHANNEL_KEYS, VendorWorld
from tests.support.vendors import gemini as mock

TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": False}}}]


def test_plain_chat_and_usage_metadata_billing(vendors: VendorWorld) -> None:
    key = vendors.key()
    completion = vendors.openai(key).chat.completions.create(
        model="gemini-test", messages=[{"role": "system", "content": "Short answers."},
                                       {"role": "user", "content": "hi"}], max_tokens=50)
    message = completion.choices[0].message
    assert message.content == mock.REPLY
    assert message.model_extra["reasoning_content"] == "Thinking it over."  # type: ignore[index]
    server = vendors.servers["gemini"]
    sent = server.received[-1]
    assert sent.path == "/v1beta/models/gemini-test:generateContent"
    assert sent.headers["x-goog-api-key"] == CHANNEL_KEYS["gemini"]
    assert sent.json()["systemInstruction"] == {"parts": [{"text": "Short answers."}]}
    assert sent.json()["generationConfig"] == {"maxOutputTokens": 50}
    completion_tokens = server.output_tokens + server.thoughts_tokens
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (server.prompt_tokens,
                                                                                    completion_tokens)
    (log,) = vendors.seed.wait_logs(key, 1)
    assert (log.prompt_tokens, log.completion_tokens) == (server.prompt_tokens, completion_tokens)


def test_stream_uses_sse_and_reports_usage(vendors: VendorWorld) -> None:
    key = vendors.key()
    chunks = list(vendors.openai(key).chat.completions.create(
        model="gemini-test", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == mock.REPLY
    sent = vendors.servers["gemini"].received[-1]
    assert sent.path.endswith(":streamGenerateContent") and sent.query == {"alt": "sse"}
    assert all(c.usage is None for c in chunks)  # not asked for
    (log,) = vendors.seed.wait_logs(key, 1)
    assert log.is_stream and log.prompt_tokens == vendors.servers["gemini"].prompt_tokens


def test_tool_call_round_trip(vendors: VendorWorld) -> None:
    client = vendors.openai()
    messages: list[dict] = [{"role": "user", "content": "Weather in Rome?"}]
    first = client.chat.completions.create(model="gemini-test", messages=messages, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "weather" and json.loads(call.function.arguments) == mock.CALL_ARGS
    declaration = vendors.servers["gemini"].received[-1].json()["tools"][0]["functionDeclarations"][0]
    assert "additionalProperties" not in declaration["parameters"]
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "{\"temp\": 25}"}]
    second = client.chat.completions.create(model="gemini-test", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "The tool said: {\"temp\": 25}"
    last = vendors.servers["gemini"].received[-1].json()["contents"][-1]
    assert last == {"role": "user", "parts": [{"functionResponse": {"name": "weather",
                                                                   "response": {"temp": 25}}}]}


def test_image_becomes_inline_data(vendors: VendorWorld) -> None:
    completion = vendors.openai().chat.completions.create(model="gemini-test",
                                                          messages=[{"role": "user", "content": [
        {"type": "text", "text": "What?"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/"}}]}])
    assert completion.choices[0].message.content == "I see an image (image/jpeg)."
    parts = vendors.servers["gemini"].received[-1].json()["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/"}}


def test_embeddings_use_batch_embed_contents(vendors: VendorWorld) -> None:
    result = vendors.openai().embeddings.create(model="text-embedding-004", input=["a", "b"])
    assert [item.embedding for item in result.data] == [[0.5, 0.0], [0.5, 1.0]]
    assert result.usage.prompt_tokens > 0
    sent = vendors.servers["gemini"].received[-1]
    assert sent.path == "/v1beta/models/text-embedding-004:batchEmbedContents"
    assert sent.json()["requests"][0]["model"] == "models/text-embedding-004"


def test_vendor_error_keeps_gemini_message(vendors: VendorWorld) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        vendors.openai().chat.completions.create(model="gemini-broken",
                                                 messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["message"] == "gemini says 400"  # type: ignore[index]


def test_unsupported_feature_names_gemini(vendors: VendorWorld) -> None:
    with pytest.raises(openai.BadRequestError, match=r"Gemini does not support the 'logprobs' parameter"):
        vendors.openai().chat.completions.create(model="gemini-test", logprobs=True,
                                                 messages=[{"role": "user", "content": "x"}])
