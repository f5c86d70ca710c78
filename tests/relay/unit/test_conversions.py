"""Format conversions both ways, whole and streamed, on the in-memory transport.

An OpenAI client on Anthropic and Gemini channels, and Anthropic and Gemini clients on an
OpenAI channel: what the vendor receives is in its own format, what the client receives
in the client's, and the usage the vendor reported is what is billed.
"""

from __future__ import annotations

from oneapi.relay.upstream import UpstreamRequest
from tests.relay.unit import vendors
from tests.relay.unit.conftest import Answer, Gateway

OPENAI, ANTHROPIC, GEMINI = 1, 14, 24
CHAT = {"model": "m", "max_tokens": 100,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]}
MESSAGES = {"model": "m", "max_tokens": 100, "system": "Be brief.",
            "messages": [{"role": "user", "content": "hi"}]}
GENERATE = {"systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generationConfig": {"maxOutputTokens": 100}}


def _billed_from_vendor_usage(gateway: Gateway) -> None:
    (charge,) = gateway.charges
    assert charge.log is not None
    assert (charge.log["prompt_tokens"], charge.log["completion_tokens"]) == \
        (vendors.PROMPT_TOKENS, vendors.COMPLETION_TOKENS)


def _chat_text(answer: Answer) -> str:
    return "".join(choice["delta"].get("content") or ""
                   for event in answer.events() for choice in event["choices"])


def _sent(gateway: Gateway) -> UpstreamRequest:
    (request,) = gateway.transport.requests
    return request


async def test_openai_client_on_an_anthropic_channel() -> None:
    gateway = Gateway(vendors.anthropic)
    gateway.channel(ANTHROPIC, ["m"], key="anthropic-key")
    answer = await gateway.call("/v1/chat/completions", CHAT)
    sent = _sent(gateway)
    assert sent.headers["x-api-key"] == "anthropic-key"
    assert sent.json() == {"model": "m", "max_tokens": 100, "system": [{"type": "text", "text": "Be brief."}],
                           "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}
    completion = answer.json()
    assert answer.status == 200 and completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"]["content"] == vendors.TEXT
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["usage"]["prompt_tokens"] == vendors.PROMPT_TOKENS
    _billed_from_vendor_usage(gateway)


async def test_openai_client_streams_from_an_anthropic_channel() -> None:
    gateway = Gateway(vendors.anthropic)
    gateway.channel(ANTHROPIC, ["m"])
    answer = await gateway.call("/v1/chat/completions", {**CHAT, "stream": True})
    assert _sent(gateway).json()["stream"] is True
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/event-stream")
    assert _chat_text(answer) == vendors.TEXT and answer.body.rstrip().endswith(b"data: [DONE]")
    assert len(answer.chunks) > 3  # passed on as it came, not gathered
    _billed_from_vendor_usage(gateway)


async def test_openai_client_on_a_gemini_channel() -> None:
    gateway = Gateway(vendors.gemini)
    gateway.channel(GEMINI, ["m"], key="gemini-key")
    answer = await gateway.call("/v1/chat/completions", CHAT)
    sent = _sent(gateway)
    assert sent.url.endswith("/v1beta/models/m:generateContent")
    assert sent.headers["x-goog-api-key"] == "gemini-key"
    body = sent.json()
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert answer.status == 200 and answer.json()["choices"][0]["message"]["content"] == vendors.TEXT
    _billed_from_vendor_usage(gateway)


async def test_openai_client_streams_from_a_gemini_channel() -> None:
    gateway = Gateway(vendors.gemini)
    gateway.channel(GEMINI, ["m"])
    answer = await gateway.call("/v1/chat/completions", {**CHAT, "stream": True})
    assert ":streamGenerateContent" in _sent(gateway).url
    assert answer.status == 200 and _chat_text(answer) == vendors.TEXT
    _billed_from_vendor_usage(gateway)


async def test_anthropic_client_on_an_openai_channel() -> None:
    gateway = Gateway(vendors.openai)
    gateway.channel(OPENAI, ["m"])
    answer = await gateway.call("/v1/messages", MESSAGES)
    body = _sent(gateway).json()
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][-1]["role"] == "user"
    message = answer.json()
    assert answer.status == 200 and message["type"] == "message" and message["role"] == "assistant"
    assert message["content"] == [{"type": "text", "text": vendors.TEXT}]
    assert message["stop_reason"] == "end_turn"
    assert message["usage"]["input_tokens"] == vendors.PROMPT_TOKENS
    assert message["usage"]["output_tokens"] == vendors.COMPLETION_TOKENS
    _billed_from_vendor_usage(gateway)


async def test_anthropic_client_streams_from_an_openai_channel() -> None:
    gateway = Gateway(vendors.openai)
    gateway.channel(OPENAI, ["m"])
    answer = await gateway.call("/v1/messages", {**MESSAGES, "stream": True})
    assert _sent(gateway).json()["stream"] is True
    events = answer.events()
    kinds = [event["type"] for event in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop" and "message_delta" in kinds
    text = "".join(event["delta"].get("text", "") for event in events
                   if event["type"] == "content_block_delta")
    assert text == vendors.TEXT
    assert b"event: content_block_delta" in answer.body  # Anthropic's named events
    _billed_from_vendor_usage(gateway)


async def test_gemini_client_on_an_openai_channel() -> None:
    gateway = Gateway(vendors.openai)
    gateway.channel(OPENAI, ["m"])
    answer = await gateway.call("/v1beta/models/m:generateContent", GENERATE)
    assert _sent(gateway).json() == {"model": "m", "max_tokens": 100, "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]}
    reply = answer.json()
    assert answer.status == 200 and reply["candidates"][0]["content"]["parts"] == [{"text": vendors.TEXT}]
    assert reply["usageMetadata"]["promptTokenCount"] == vendors.PROMPT_TOKENS
    _billed_from_vendor_usage(gateway)


async def test_gemini_client_streams_from_an_openai_channel() -> None:
    gateway = Gateway(vendors.openai)
    gateway.channel(OPENAI, ["m"])
    answer = await gateway.call("/v1beta/models/m:streamGenerateContent?alt=sse", GENERATE)
    assert _sent(gateway).json()["stream"] is True
    text = "".join(part.get("text", "") for event in answer.events()
                   for candidate in event.get("candidates", []) for part in candidate["content"]["parts"])
    assert answer.status == 200 and text == vendors.TEXT
    _billed_from_vendor_usage(gateway)


async def test_a_client_on_a_channel_of_its_own_format_is_passed_through_untouched() -> None:
    gateway = Gateway(vendors.anthropic)
    gateway.channel(ANTHROPIC, ["m"])
    answer = await gateway.call("/v1/messages", MESSAGES)
    assert _sent(gateway).json() == MESSAGES
    assert answer.json()["content"] == [{"type": "text", "text": vendors.TEXT}]
    _billed_from_vendor_usage(gateway)
