"""Vendor answers for the in-memory transport: OpenAI, Anthropic and Gemini, whole and streamed.

Each function answers one :class:`~oneapi.relay.upstream.memory.UpstreamRequest` the way
the vendor's API does, with a fixed text and usage, so a test can check both the
conversion and the bill.
"""

from __future__ import annotations

import json
from typing import Any

from oneapi.relay.upstream import MemoryAnswer, UpstreamRequest

TEXT = "Hello from the vendor."
PIECES = ["Hello", " from", " the", " vendor."]
PROMPT_TOKENS, COMPLETION_TOKENS = 12, 5


def openai(request: UpstreamRequest) -> MemoryAnswer:
    """``POST /v1/chat/completions``, whole or streamed (with the usage chunk last)."""
    assert request.url.endswith("/v1/chat/completions"), request.url
    sent = request.json()
    model = sent["model"]
    usage = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
             "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}
    if not sent.get("stream"):
        return MemoryAnswer.json({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT},
                         "finish_reason": "stop"}],
            "usage": usage})

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events = [chunk({"role": "assistant", "content": ""}), *(chunk({"content": piece}) for piece in PIECES),
              chunk({}, "stop"),
              {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
               "choices": [], "usage": usage}]
    return MemoryAnswer.sse(events)


def anthropic(request: UpstreamRequest) -> MemoryAnswer:
    """``POST /v1/messages``, whole or streamed as Anthropic's named events."""
    assert request.url.endswith("/v1/messages"), request.url
    sent = request.json()
    model = sent["model"]
    if not sent.get("stream"):
        return MemoryAnswer.json({
            "id": "msg_1", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": TEXT}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS}})
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        *(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "text_delta", "text": piece}}) for piece in PIECES),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": COMPLETION_TOKENS}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    chunks = [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]
    return MemoryAnswer(200, {"Content-Type": "text/event-stream"}, chunks)


def gemini(request: UpstreamRequest) -> MemoryAnswer:
    """``POST /v1beta/models/{model}:generateContent`` or ``:streamGenerateContent?alt=sse``."""
    path = request.url.split("?", 1)[0]
    assert "/v1beta/models/" in path, request.url
    usage = {"promptTokenCount": PROMPT_TOKENS, "candidatesTokenCount": COMPLETION_TOKENS,
             "totalTokenCount": PROMPT_TOKENS + COMPLETION_TOKENS}

    def answer(text: str, finish: str | None, with_usage: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return {"candidates": [candidate], **({"usageMetadata": usage} if with_usage else {})}

    if path.endswith(":generateContent"):
        return MemoryAnswer.json(answer(TEXT, "STOP", True))
    assert path.endswith(":streamGenerateContent") and "alt=sse" in request.url, request.url
    last = len(PIECES) - 1
    events = [answer(piece, "STOP" if i == last else None, i == last) for i, piece in enumerate(PIECES)]
    return MemoryAnswer.sse(events, done=False)
