"""The real clients' recorded requests through the whole relay on the in-memory transport.

``tests/relay/fixtures/clients`` holds what Claude Code and the Gemini CLI really sent. Here
each recording goes through authentication, routing, the adapter, the transport and billing:
to a channel of the client's own format its body must reach the vendor byte for byte, and to
an OpenAI channel it must arrive converted and come back in the client's own stream format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oneapi.relay.upstream import UpstreamRequest
from tests.relay.unit import vendors
from tests.relay.unit.conftest import Gateway

OPENAI, ANTHROPIC, GEMINI = 1, 14, 24
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clients"
# headers a client sends that belong to its connection, not to the vendor
_HOP = {"content-type", "content-length", "user-agent", "x-api-key", "authorization", "x-goog-api-key"}


def _recorded(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


CLAUDE_CODE = _recorded("claude-code/01-messages.json")
GEMINI_CLI = _recorded("gemini-cli/01-gemini-3.8-flash-streamGenerateContent.json")


def _bodies(record: dict[str, Any]) -> list[bytes]:
    """The recorded body, and the same document spaced out: a compact body alone could not tell
    a pass-through from a re-encoding, which writes it compact too."""
    return [record["body"].encode(), json.dumps(json.loads(record["body"]), indent=1).encode()]


def _path(record: dict[str, Any]) -> str:
    query = "&".join(f"{key}={value}" for key, value in record["query"].items())
    return record["path"] + (f"?{query}" if query else "")


def _vendor_headers(record: dict[str, Any]) -> dict[str, str]:
    return {name: value for name, value in record["headers"].items() if name.lower() not in _HOP}


def _sent(gateway: Gateway) -> UpstreamRequest:
    (request,) = gateway.transport.requests
    return request


def _billed_from_vendor_usage(gateway: Gateway) -> None:
    (charge,) = gateway.charges
    assert charge.log is not None
    assert (charge.log["prompt_tokens"], charge.log["completion_tokens"]) == \
        (vendors.PROMPT_TOKENS, vendors.COMPLETION_TOKENS)


def _event_names(body: bytes) -> list[str]:
    return [line[6:].strip() for line in body.decode().splitlines() if line.startswith("event:")]


@pytest.mark.parametrize("raw", _bodies(CLAUDE_CODE), ids=["recorded", "spaced"])
async def test_claude_code_reaches_an_anthropic_channel_byte_for_byte(raw: bytes) -> None:
    body = json.loads(raw)
    gateway = Gateway(vendors.anthropic)
    gateway.channel(ANTHROPIC, [body["model"]], key="anthropic-key")
    answer = await gateway.call(_path(CLAUDE_CODE), raw, headers=_vendor_headers(CLAUDE_CODE))
    sent = _sent(gateway)
    assert sent.body == raw
    assert sent.headers["x-api-key"] == "anthropic-key"
    assert sent.headers["anthropic-beta"] == CLAUDE_CODE["headers"]["anthropic-beta"]
    assert answer.status == 200, answer.body[:500]
    assert _event_names(answer.body) == ["message_start", "content_block_start", *["content_block_delta"] * 4,
                                         "content_block_stop", "message_delta", "message_stop"]
    _billed_from_vendor_usage(gateway)


async def test_claude_code_on_an_openai_channel_streams_back_as_anthropic_events() -> None:
    body = json.loads(CLAUDE_CODE["body"])
    gateway = Gateway(vendors.openai)
    gateway.channel(OPENAI, [body["model"]])
    answer = await gateway.call(_path(CLAUDE_CODE), CLAUDE_CODE["body"].encode(),
                                headers=_vendor_headers(CLAUDE_CODE))
    chat = _sent(gateway).json()
    assert chat["model"] == body["model"] and chat["stream"] is True
    assert chat["stream_options"] == {"include_usage": True}
    assert [tool["function"]["name"] for tool in chat["tools"]] == [tool["name"] for tool in body["tools"]]
    assert answer.status == 200, answer.body[:500]
    names = _event_names(answer.body)
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    text = "".join(event["delta"]["text"] for event in answer.events()
                   if event["type"] == "content_block_delta" and event["delta"]["type"] == "text_delta")
    assert text == vendors.TEXT
    _billed_from_vendor_usage(gateway)


@pytest.mark.parametrize("raw", _bodies(GEMINI_CLI), ids=["recorded", "spaced"])
async def test_gemini_cli_reaches_a_gemini_channel_byte_for_byte(raw: bytes) -> None:
    gateway = Gateway(vendors.gemini)
    gateway.channel(GEMINI, ["gemini-3.8-flash"])
    answer = await gateway.call(_path(GEMINI_CLI), raw)
    sent = _sent(gateway)
    assert sent.body == raw
    assert sent.url.split("?", 1)[0].endswith("/v1beta/models/gemini-3.8-flash:streamGenerateContent")
    assert answer.status == 200, answer.body[:500]
    assert "".join(part["text"] for event in answer.events()
                   for part in event["candidates"][0]["content"]["parts"]) == vendors.TEXT
    _billed_from_vendor_usage(gateway)


async def test_gemini_cli_on_an_openai_channel_streams_back_as_gemini() -> None:
    body = json.loads(GEMINI_CLI["body"])
    gateway = Gateway(vendors.openai)
    gateway.channel(OPENAI, ["gemini-3.8-flash"])
    answer = await gateway.call(_path(GEMINI_CLI), GEMINI_CLI["body"].encode())
    chat = _sent(gateway).json()
    assert chat["model"] == "gemini-3.8-flash" and chat["stream"] is True
    assert chat["messages"][0]["role"] == "system"
    declared = [declaration["name"] for tool in body["tools"]
                for declaration in tool.get("functionDeclarations", [])]
    assert [tool["function"]["name"] for tool in chat["tools"]] == declared
    assert answer.status == 200, answer.body[:500]
    events = answer.events()
    assert "".join(part.get("text", "") for event in events
                   for part in event["candidates"][0]["content"]["parts"]) == vendors.TEXT
    assert events[-1]["usageMetadata"]["promptTokenCount"] == vendors.PROMPT_TOKENS
    _billed_from_vendor_usage(gateway)
