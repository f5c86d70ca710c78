"""OpenAI clients on an Anthropic channel: conversions, streams, tools, images, billing, errors."""

from __future__ import annotations

import json

import openai
import pytest

from oneapi.billing.pricing import price_for
from tests.relay.adapters.conftest import CHANNEL_KEYS, VendorWorld
from tests.support.vendors import anthropic as mock

TOOLS = [{"type": "function", "function": {"name": "weather", "description": "Weather by city",
                                           "parameters": {"type": "object",
                                                          "properties": {"city": {"type": "string"}}}}}]


def test_plain_chat_is_converted_both_ways_and_billed_from_vendor_usage(vendors: VendorWorld) -> None:
    key = vendors.key(remain_quota=1_000_000)
    completion = vendors.openai(key).chat.completions.create(
        model="claude-test", messages=[{"role": "system", "content": "Be kind."},
                                       {"role": "user", "content": "hi"}], temperature=0.2)
    assert completion.choices[0].message.content == mock.REPLY
    assert completion.choices[0].finish_reason == "stop"
    server = vendors.servers["anthropic"]
    prompt = server.prompt_tokens + mock.CACHE_READ
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (prompt, server.output_tokens)
    sent = server.received[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == CHANNEL_KEYS["anthropic"] and sent.headers["anthropic-version"]
    assert "Authorization" not in sent.headers
    body = sent.json()
    assert body["system"] == [{"type": "text", "text": "Be kind."}]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert body["max_tokens"] == 4096 and body["temperature"] == 0.2
    (log,) = vendors.seed.wait_logs(key, 1)
    assert (log.prompt_tokens, log.completion_tokens) == (prompt, server.output_tokens)
    price = price_for("claude-test", "default", 14)  # the cache reads at Anthropic's 0.1x of input
    expected = price.text_quota(prompt, server.output_tokens, mock.CACHE_READ)
    assert log.quota == expected < price.text_quota(prompt, server.output_tokens)
    assert vendors.seed.wait_remain(key, 1_000_000 - expected) == 1_000_000 - expected


def test_stream_arrives_as_chat_chunks_with_usage(vendors: VendorWorld) -> None:
    key = vendors.key()
    chunks = list(vendors.openai(key).chat.completions.create(
        model="claude-test", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == mock.REPLY
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert vendors.servers["anthropic"].received[-1].json()["stream"] is True
    (log,) = vendors.seed.wait_logs(key, 1)
    assert log.is_stream and log.completion_tokens == 7


def test_tool_call_round_trip(vendors: VendorWorld) -> None:
    client = vendors.openai()
    messages: list[dict] = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.chat.completions.create(model="claude-test", messages=messages, tools=TOOLS,
                                           tool_choice="required")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.id == "toolu_mock1" and json.loads(call.function.arguments) == mock.TOOL_INPUT
    sent = vendors.servers["anthropic"].received[-1].json()
    assert sent["tool_choice"] == {"type": "any"}
    assert sent["tools"][0]["input_schema"]["properties"] == {"city": {"type": "string"}}
    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21C"}]
    second = client.chat.completions.create(model="claude-test", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "The tool said: Sunny, 21C"
    turns = vendors.servers["anthropic"].received[-1].json()["messages"]
    assert turns[1]["content"][-1] == {"type": "tool_use", "id": "toolu_mock1", "name": "weather",
                                       "input": mock.TOOL_INPUT}
    assert turns[2]["content"] == [{"type": "tool_result", "tool_use_id": "toolu_mock1", "content": "Sunny, 21C"}]


def test_streamed_tool_call_arguments(vendors: VendorWorld) -> None:
    chunks = list(vendors.openai().chat.completions.create(
        model="claude-test", messages=[{"role": "user", "content": "Weather?"}], tools=TOOLS, stream=True))
    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or ()]
    assert calls[0].id == "toolu_mock1" and calls[0].function.name == "weather"
    assert json.loads("".join(call.function.arguments or "" for call in calls)) == mock.TOOL_INPUT
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_remote_image_is_fetched_and_inlined(vendors: VendorWorld) -> None:
    url = f"{vendors.servers['images'].url}/cat.png"
    completion = vendors.openai().chat.completions.create(model="claude-test", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": url}}]}])
    assert completion.choices[0].message.content == "I see an image (image/png)."
    block = vendors.servers["anthropic"].received[-1].json()["messages"][0]["content"][1]
    assert block["type"] == "image" and block["source"]["type"] == "base64" and block["source"]["data"]


def test_vendor_error_is_openai_shaped_with_vendor_message(vendors: VendorWorld) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        vendors.openai().chat.completions.create(model="claude-broken", messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 400
    assert caught.value.body["message"] == "anthropic says 400"  # type: ignore[index]


def test_unsupported_feature_is_a_400_naming_feature_and_vendor(vendors: VendorWorld) -> None:
    key = vendors.key(remain_quota=500_000)
    with pytest.raises(openai.BadRequestError) as caught:
        vendors.openai(key).chat.completions.create(model="claude-test", n=2,
                                                    messages=[{"role": "user", "content": "x"}])
    message = caught.value.body["message"]  # type: ignore[index]
    assert "'n'" in message and "Anthropic" in message
    assert vendors.seed.token_row(key).remain_quota == 500_000  # nothing charged
