"""CPU cost of the vendor conversions, per request and per streamed event.

Usage: ``python bench/conversions.py``. Each figure is the best of five timed loops, in
microseconds, on one core: what the gateway adds on top of the network for a vendor
whose format is not OpenAI's.
"""

from __future__ import annotations

import json
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oneapi.relay.formats.anthropic_client import ChatToAnthropicStream
from oneapi.relay.formats.anthropic_upstream import (
    AnthropicChatStream,
    chat_to_anthropic,
    read_anthropic_event,
)
from oneapi.relay.formats.events import UsageSniffer, decode_json
from oneapi.relay.formats.gemini_upstream import GeminiChatStream, chat_to_gemini
from oneapi.relay.formats.responses import responses_to_chat

CODEX = (Path(__file__).resolve().parents[1] / "tests/relay/fixtures/responses/codex_2.json").read_bytes()

WORDS = 200
CHAT = {"model": "m", "messages": [{"role": "system", "content": "Be brief."},
                                   *({"role": "user" if i % 2 == 0 else "assistant", "content": "word " * 50}
                                     for i in range(10))],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}


def _anthropic_stream() -> bytes:
    events = [{"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 5}}},
              {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}]
    events += [{"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": " word"}}] * WORDS
    events += [{"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": WORDS}},
               {"type": "message_stop"}]
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def _gemini_stream() -> bytes:
    piece = {"candidates": [{"content": {"role": "model", "parts": [{"text": " word"}]}, "index": 0}],
             "usageMetadata": {"promptTokenCount": 5}}
    return b"".join(b"data: " + json.dumps(piece).encode() + b"\r\n\r\n" for _ in range(WORDS))


def _chat_stream() -> bytes:
    chunk = {"id": "c", "object": "chat.completion.chunk", "model": "m",
             "choices": [{"index": 0, "delta": {"content": " word"}, "finish_reason": None}]}
    event = b"data: " + json.dumps(chunk).encode() + b"\n\n"
    return event * WORDS + b"data: [DONE]\n\n"


def per_call(label: str, function, divisor: int = 1) -> None:  # type: ignore[no-untyped-def]
    loops = 200
    best = min(timeit.repeat(function, number=loops, repeat=5)) / loops / divisor
    print(f"{label:<58} {best * 1e6:8.2f} µs")


def main() -> None:
    anthropic, gemini, chat = _anthropic_stream(), _gemini_stream(), _chat_stream()

    def run(converter, data: bytes) -> None:  # type: ignore[no-untyped-def]
        for start in range(0, len(data), 1400):  # network-sized reads
            converter.feed(data[start:start + 1400])
        converter.finish()

    per_call("request: OpenAI chat -> Anthropic (11 messages, 1 tool)", lambda: chat_to_anthropic(CHAT, "c"))
    per_call("request: OpenAI chat -> Gemini (11 messages, 1 tool)", lambda: chat_to_gemini(CHAT))
    per_call(f"request: Codex /v1/responses ({len(CODEX) // 1024} KB) -> chat -> Anthropic",
             lambda: chat_to_anthropic(responses_to_chat(decode_json(CODEX), history=[],
                                                         hosted={"web_search"}).chat, "c"))
    per_call("stream event: Anthropic -> chat chunk",
             lambda: run(AnthropicChatStream("c", include_usage=True), anthropic), WORDS)
    per_call("stream event: Gemini -> chat chunk",
             lambda: run(GeminiChatStream("g", include_usage=True), gemini),
             WORDS)
    per_call("stream event: chat chunk -> Anthropic (/v1/messages)",
             lambda: run(ChatToAnthropicStream("c"), chat),
             WORDS)
    per_call("stream event: Anthropic pass-through with usage read",
             lambda: run(UsageSniffer(read_anthropic_event), anthropic), WORDS)


if __name__ == "__main__":
    main()
