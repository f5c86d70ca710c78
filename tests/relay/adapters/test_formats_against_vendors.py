"""The pure conversions against the vendor mock servers: what the vendor receives and answers."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from oneapi.errors import InvalidRequest
from oneapi.relay.formats.anthropic_upstream import AnthropicChatStream, chat_to_anthropic, message_to_chat
from oneapi.relay.formats.gemini_upstream import GeminiChatStream, chat_to_gemini, gemini_to_chat
from oneapi.relay.formats.media import fetch_images, remote_image_urls
from oneapi.relay.formats.ollama import OllamaChatStream, chat_to_ollama, ollama_to_chat
from tests.relay.adapters.streams import chunks_of
from tests.support.vendors import anthropic, gemini, ollama
from tests.support.vendors.images import PNG_BYTES, ImageHost

TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}]


def _stream(converter, response: httpx.Response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(converter.feed(piece) for piece in response.iter_bytes()) + converter.finish()


def test_anthropic_round_trip_plain_stream_and_tools() -> None:
    with anthropic.AnthropicUpstream() as upstream:
        headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
        chat = {"messages": [{"role": "user", "content": "hi"}]}
        reply = httpx.post(f"{upstream.url}/v1/messages", headers=headers,
                           json=chat_to_anthropic(chat, "claude-x").body)
        completion = message_to_chat(reply.json())
        assert completion["choices"][0]["message"]["content"] == anthropic.REPLY
        assert completion["usage"]["prompt_tokens"] == upstream.prompt_tokens + anthropic.CACHE_READ

        with httpx.stream("POST", f"{upstream.url}/v1/messages", headers=headers,
                          json=chat_to_anthropic({**chat, "tools": TOOLS, "stream": True},
                                                 "claude-x").body) as resp:
            chunks, done = chunks_of(_stream(AnthropicChatStream("claude-x", include_usage=True), resp))
        calls = [call for chunk in chunks if chunk["choices"]
                 for call in chunk["choices"][0]["delta"].get("tool_calls", ())]
        assert json.loads("".join(call["function"]["arguments"] for call in calls)) == anthropic.TOOL_INPUT
        assert done and chunks[-1]["usage"]["completion_tokens"] == upstream.output_tokens


def test_gemini_round_trip_with_function_response() -> None:
    with gemini.GeminiUpstream() as upstream:
        url = f"{upstream.url}/v1beta/models/gemini-2.0-flash"
        chat = {"messages": [{"role": "user", "content": "weather?"},
                             {"role": "assistant",
                              "tool_calls": [{"id": "c1", "type": "function", "function": {
                                 "name": "weather", "arguments": "{\"city\": \"Rome\"}"}}]},
                             {"role": "tool", "tool_call_id": "c1", "content": "{\"temp\": 20}"}],
                             "tools": TOOLS}
        reply = httpx.post(f"{url}:generateContent", headers={"x-goog-api-key": "k"},
                           json=chat_to_gemini(chat))
        completion = gemini_to_chat(reply.json(), "gemini-2.0-flash")
        assert completion["choices"][0]["message"]["content"] == "The tool said: {\"temp\": 20}"
        with httpx.stream("POST", f"{url}:streamGenerateContent?alt=sse", headers={"x-goog-api-key": "k"},
                          json=chat_to_gemini({"messages": [{"role": "user", "content": "hi"}]})) as resp:
            chunks, done = chunks_of(_stream(GeminiChatStream("g", include_usage=True), resp))
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        assert text == gemini.REPLY and done
        assert chunks[-1]["usage"]["completion_tokens"] == upstream.output_tokens + upstream.thoughts_tokens


def test_ollama_round_trip() -> None:
    with ollama.OllamaUpstream() as upstream:
        chat = {"messages": [{"role": "user", "content": "hi"}]}
        reply = httpx.post(f"{upstream.url}/api/chat", json=chat_to_ollama(chat, "llama3.2"))
        assert ollama_to_chat(reply.json(), "llama3.2")["choices"][0]["message"]["content"] == ollama.REPLY
        with httpx.stream("POST", f"{upstream.url}/api/chat",
                          json=chat_to_ollama({**chat, "stream": True}, "llama3.2")) as resp:
            chunks, done = chunks_of(_stream(OllamaChatStream("llama3.2", include_usage=True), resp))
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        assert text == ollama.REPLY
        assert done
        assert chunks[-1]["usage"]["prompt_tokens"] == upstream.prompt_tokens


async def test_remote_images_are_fetched_within_limits() -> None:
    with ImageHost() as host:
        messages = [{"role": "user",
                     "content": [{"type": "image_url", "image_url": {"url": f"{host.url}/cat.png"}},
                                                 {"type": "image_url",
                                                  "image_url": {"url": "data:image/png;base64,AA"}}]}]
        assert remote_image_urls(messages) == [f"{host.url}/cat.png"]
        async with httpx.AsyncClient() as client:
            images = await fetch_images(client, remote_image_urls(messages), allow_private=True)
            image = images[f"{host.url}/cat.png"]
            assert image.media_type == "image/png"
            assert image.data_url() == "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()
            with pytest.raises(InvalidRequest, match="larger than"):
                await fetch_images(client, [f"{host.url}/huge.png"], max_bytes=1024 * 1024,
                                   allow_private=True)
            with pytest.raises(InvalidRequest, match="HTTP 404"):
                await fetch_images(client, [f"{host.url}/missing.png"], allow_private=True)
            moved = await fetch_images(client, [f"{host.url}/moved.png"], allow_private=True)
            assert moved[f"{host.url}/moved.png"] == image
            with pytest.raises(InvalidRequest, match="more than 5 redirects"):
                await fetch_images(client, [f"{host.url}/loop.png"], allow_private=True)


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/cat.png", "http://localhost:{port}/cat.png",
                                 "http://[::1]:{port}/cat.png", "http://169.254.169.254/latest/meta-data/",
                                 "http://10.1.2.3/x.png", "http://[::ffff:192.168.0.1]/x.png",
                                 "ftp://example.com/x.png"])
async def test_images_on_private_addresses_are_refused_by_default(url: str) -> None:
    with ImageHost() as host:
        port = host.url.rsplit(":", 1)[1]
        async with httpx.AsyncClient() as client:
            with pytest.raises(InvalidRequest) as refused:
                await fetch_images(client, [url.format(port=port)])
        assert refused.value.code == "invalid_image_url"
    assert host.hits == []  # refused before connecting
