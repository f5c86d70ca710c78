"""A fast OpenAI-shaped upstream for the benchmark: raw asyncio on uvloop, answers prebuilt.

Non-streaming requests get one chat completion with usage; requests with
``"stream":true`` get ~20 SSE chunks (each its own write, chunked encoding), the usage
chunk when ``include_usage`` is asked for, and ``[DONE]``. ``POST /v1/messages`` is
answered in Anthropic's shape instead (a Message, or its event stream), for
``bench/clients.py``. It parses only what it needs, so on one core it serves many times
what the proxies under test can.

    python bench/mock_upstream.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys

import uvloop

CHUNKS = 20
_USAGE = {"prompt_tokens": 12, "completion_tokens": CHUNKS, "total_tokens": 12 + CHUNKS}
_COMPLETION = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "word " * CHUNKS},
                 "finish_reason": "stop"}], "usage": _USAGE}).encode()
_JSON_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                  + str(len(_COMPLETION)).encode() + b"\r\n\r\n" + _COMPLETION)
_STREAM_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _event(document: object) -> bytes:
    return _chunk(b"data: " + json.dumps(document).encode() + b"\n\n")


_BASE = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-4o-mini"}
_WORD_EVENTS = [_event({**_BASE, "choices": [{"index": 0, "delta": {"content": "word "}, "finish_reason": None}]})
                for _ in range(CHUNKS)]
_FINISH = _event({**_BASE, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
_USAGE_EVENT = _event({**_BASE, "choices": [], "usage": _USAGE})
_DONE = _chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"

_ANTHROPIC_USAGE = {"input_tokens": 12, "output_tokens": CHUNKS, "cache_read_input_tokens": 20000,
                    "cache_creation_input_tokens": 0}
_MESSAGE = {"id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-opus-4-8",
            "content": [{"type": "text", "text": "word " * CHUNKS}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": _ANTHROPIC_USAGE}
_MESSAGE_BODY = json.dumps(_MESSAGE).encode()
_MESSAGE_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(_MESSAGE_BODY)).encode() + b"\r\n\r\n" + _MESSAGE_BODY)


def _anthropic_event(document: dict[str, object]) -> bytes:
    return _chunk(b"event: " + str(document["type"]).encode() + b"\ndata: " + json.dumps(document).encode()
                  + b"\n\n")


_MESSAGE_EVENTS = b"".join([
    _anthropic_event({"type": "message_start", "message": {**_MESSAGE, "content": [], "stop_reason": None}}),
    _anthropic_event({"type": "content_block_start", "index": 0,
                      "content_block": {"type": "text", "text": ""}}),
    *(_anthropic_event({"type": "content_block_delta", "index": 0,
                        "delta": {"type": "text_delta", "text": "word "}}) for _ in range(CHUNKS)),
    _anthropic_event({"type": "content_block_stop", "index": 0}),
    _anthropic_event({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                      "usage": {"output_tokens": CHUNKS}}),
    _anthropic_event({"type": "message_stop"})]) + b"0\r\n\r\n"


class _Upstream(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                length = int(head[marker + 15:head.find(b"\r\n", marker) if head.find(b"\r\n", marker) > 0
                                  else len(head)].strip())
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            body, self.buffer = self.buffer[end + 4:total], self.buffer[total:]
            if head.startswith(b"post /v1/messages "):
                self.answer_message(body)
            else:
                self.answer(body)

    def answer_message(self, body: bytes) -> None:
        assert self.transport is not None
        if b'"stream":true' in body.replace(b" ", b""):
            self.transport.write(_STREAM_HEAD + _MESSAGE_EVENTS)
        else:
            self.transport.write(_MESSAGE_RESPONSE)

    def answer(self, body: bytes) -> None:
        assert self.transport is not None
        compact = body.replace(b" ", b"")
        if b'"stream":true' not in compact:
            self.transport.write(_JSON_RESPONSE)
            return
        write = self.transport.write
        write(_STREAM_HEAD)
        for event in _WORD_EVENTS:
            write(event)
        write(_FINISH)
        if b'"include_usage":true' in compact:
            write(_USAGE_EVENT)
        write(_DONE)


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Upstream, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
