"""Incremental framing of vendor streams and OpenAI ``chat.completion.chunk`` writing.

Every converter in this package is fed raw network reads, which may split an event
anywhere; the decoders here buffer the partial tail and hand back only whole events.
:class:`ChunkWriter` is the one place that writes OpenAI chunks, so every vendor's
stream reaches the client in exactly the same shape (role first, deltas, a finish
chunk, an optional usage-only chunk, ``[DONE]``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

__all__ = (
    "ChatChunkReader",
    "ChunkWriter",
    "JSONEventTranslator",
    "NDJSONDecoder",
    "SSEDecoder",
    "SSEEvent",
    "StreamDecoder",
    "TokenUsage",
    "UsageSniffer",
    "decode_json",
    "encode_json",
    "sse",
)

encode_json = msgspec.json.Encoder().encode
_decoder = msgspec.json.Decoder()


def decode_json(data: bytes | str) -> Any:
    """Decode JSON; raises ``msgspec.DecodeError`` on bad input."""
    return _decoder.decode(data)


@dataclass(slots=True)
class TokenUsage:
    """Tokens a vendor reported, in OpenAI's terms (prompt tokens include cached ones)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def openai(self) -> dict[str, Any]:
        """The ``usage`` object of a chat completion."""
        usage: dict[str, Any] = {"prompt_tokens": self.prompt_tokens,
                                 "completion_tokens": self.completion_tokens,
                                 "total_tokens": self.prompt_tokens + self.completion_tokens}
        if self.cached_tokens or self.cache_write_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
            if self.cache_write_tokens:
                usage["prompt_tokens_details"]["cache_write_tokens"] = self.cache_write_tokens
        if self.reasoning_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
        return usage

    @classmethod
    def from_openai(cls, usage: Any) -> TokenUsage | None:
        """Read a chat completion's (or Responses API's) usage object.

        Cache reads come as ``prompt_tokens_details.cached_tokens`` (OpenAI) or as
        DeepSeek's ``prompt_cache_hit_tokens``; both are part of ``prompt_tokens``.
        """
        if not isinstance(usage, dict):
            return None
        prompt_details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
        return cls(prompt_tokens=int(usage.get("prompt_tokens", usage.get("input_tokens")) or 0),
                   completion_tokens=int(usage.get("completion_tokens", usage.get("output_tokens")) or 0),
                   cached_tokens=int(prompt_details.get("cached_tokens")
                                     or usage.get("prompt_cache_hit_tokens") or 0),
                   cache_write_tokens=int(prompt_details.get("cache_write_tokens") or 0),
                   reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0))


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event; ``data`` is JSON-encoded unless it is already bytes."""
    payload = data if isinstance(data, bytes) else encode_json(data)
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + payload + b"\n\n"


class StreamDecoder(Protocol):
    """Splits raw network reads into whole items, keeping a partial one for the next read.

    :class:`SSEDecoder` (server-sent events), :class:`NDJSONDecoder` (Ollama's JSON lines)
    and AWS's binary event stream (``formats.bedrock``) are the ones in use; a vendor with
    another framing brings its own decoder and the converters below take it as it is.
    """

    def feed(self, data: bytes) -> list[Any]:
        """The items completed by ``data``."""

    def finish(self) -> list[Any]:
        """The items still buffered when the stream ended."""


@dataclass(slots=True)
class SSEEvent:
    event: bytes
    data: bytes  # the data lines joined, undecoded: JSON decoders take bytes


class SSEDecoder:
    """Splits a byte stream into server-sent events, keeping the unfinished tail."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[SSEEvent]:
        buffer = self._buffer + data
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = buffer.rfind(b"\n\n")
        if end < 0:
            self._buffer = buffer
            return []
        complete, self._buffer = buffer[:end], buffer[end + 2:]
        return [event for block in complete.split(b"\n\n") if (event := _parse_event(block)) is not None]

    def finish(self) -> list[SSEEvent]:
        rest, self._buffer = self._buffer, b""
        event = _parse_event(rest.strip(b"\n"))
        return [event] if event is not None else []


def _parse_event(block: bytes) -> SSEEvent | None:
    if block.startswith(b"data: ") and b"\n" not in block:  # the usual one-line event
        return SSEEvent(b"", block[6:])
    if block.startswith(b"event:"):  # "event: x" then one data line (Anthropic)
        end = block.find(b"\n")
        rest = block[end + 1:]
        if end > 0 and rest.startswith(b"data: ") and b"\n" not in rest:
            return SSEEvent(block[6:end].strip(), rest[6:])
    name = b""
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[6:] if line.startswith(b"data: ") else line[5:])
        elif line.startswith(b"event:"):
            name = line[6:].strip()
    if not data and not name:
        return None
    return SSEEvent(name, b"\n".join(data))


class NDJSONDecoder:
    """Splits newline-delimited JSON (Ollama's streams) into decoded objects."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[Any]:
        buffer = self._buffer + data
        end = buffer.rfind(b"\n")
        if end < 0:
            self._buffer = buffer
            return []
        complete, self._buffer = buffer[:end], buffer[end + 1:]
        return [decode_json(line) for line in complete.split(b"\n") if line.strip()]

    def finish(self) -> list[Any]:
        rest, self._buffer = self._buffer.strip(), b""
        return [decode_json(rest)] if rest else []


class ChunkWriter:
    """Writes one response's ``chat.completion.chunk`` events.

    ``include_usage`` mirrors the client's ``stream_options.include_usage``: the usage
    chunk is written only when asked for, as OpenAI does.
    """

    def __init__(self, model: str, *, include_usage: bool, response_id: str | None = None) -> None:
        self.id = response_id or f"chatcmpl-{int(time.time() * 1000)}"
        self.model = model
        self.created = int(time.time())
        self.include_usage = include_usage
        self._started: set[int] = set()
        self._text: list[str] = []

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body: dict[str, Any] = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                                "model": self.model, "choices": choices, **extra}
        return sse(body)

    def delta(self, delta: dict[str, Any], *, index: int = 0) -> bytes:
        """A delta for choice ``index``; the first one of each choice carries the role."""
        if index not in self._started:
            self._started.add(index)
            delta = {"role": "assistant", **delta}
        for name in ("content", "reasoning_content"):
            if isinstance(delta.get(name), str):
                self._text.append(delta[name])
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            self._text.append(str(function.get("name") or "") + str(function.get("arguments") or ""))
        return self._chunk([{"index": index, "delta": delta, "logprobs": None, "finish_reason": None}])

    def text(self, content: str, *, index: int = 0) -> bytes:
        return self.delta({"content": content}, index=index) if content else b""

    def reasoning(self, content: str, *, index: int = 0) -> bytes:
        return self.delta({"reasoning_content": content}, index=index) if content else b""

    def tool_call(self, position: int, *, call_id: str | None = None, name: str | None = None,
                  arguments: str = "", index: int = 0) -> bytes:
        """A tool call's start (with id and name) or a fragment of its arguments."""
        call: dict[str, Any] = {"index": position}
        function: dict[str, Any] = {"arguments": arguments}
        if call_id is not None:
            call.update(id=call_id, type="function")
        if name is not None:
            function["name"] = name
        call["function"] = function
        return self.delta({"tool_calls": [call]}, index=index)

    def finish(self, reason: str, *, index: int = 0) -> bytes:
        prefix = b"" if index in self._started else self.delta({"content": ""}, index=index)
        return prefix + self._chunk([{"index": index, "delta": {}, "logprobs": None, "finish_reason": reason}])

    def end(self, usage: TokenUsage | None) -> bytes:
        """The usage chunk (when the client asked) and ``[DONE]``."""
        tail = b""
        if self.include_usage and usage is not None:
            tail = self._chunk([], usage=usage.openai())
        return tail + b"data: [DONE]\n\n"

    def error(self, message: str, error_type: str = "upstream_error") -> bytes:
        """An error event mid-stream, in the shape the OpenAI SDKs raise from."""
        return sse({"error": {"message": message, "type": error_type, "param": None, "code": None}})

    def produced_text(self) -> str:
        return "".join(self._text)


class ChatChunkReader:
    """Reads an OpenAI chat-completion SSE stream back into chunk objects.

    Used where a client speaks another format (``/v1/messages``, Gemini, Responses) and
    the upstream answered in OpenAI's: the entry-point converter consumes the chunks.
    """

    __slots__ = ("_decoder", "done", "usage")

    def __init__(self) -> None:
        self._decoder = SSEDecoder()
        self.usage: TokenUsage | None = None
        self.done = False

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        return self._read(self._decoder.feed(data))

    def finish(self) -> list[dict[str, Any]]:
        return self._read(self._decoder.finish())

    def _read(self, events: list[SSEEvent]) -> list[dict[str, Any]]:
        chunks: list[dict[str, Any]] = []
        for event in events:
            payload = event.data.strip()
            if not payload:
                continue
            if payload == b"[DONE]":
                self.done = True
                continue
            try:
                chunk = decode_json(payload)
            except msgspec.DecodeError:
                continue
            if not isinstance(chunk, dict):
                continue
            usage = TokenUsage.from_openai(chunk.get("usage"))
            if usage is not None:
                self.usage = usage
            chunks.append(chunk)
        return chunks


class VendorChatTranslator:
    """Base of the converters that read a vendor's stream and write OpenAI chat chunks.

    ``decoder`` splits the vendor's bytes into whole items (a :class:`StreamDecoder`); subclasses
    turn one of them into chunk bytes (``_handle``). The closing chunks (usage and
    ``[DONE]``) are written once, by ``_end`` or ``_fail``.
    """

    def __init__(self, decoder: StreamDecoder, model: str, *, include_usage: bool) -> None:
        self._decoder = decoder
        self._writer = ChunkWriter(model, include_usage=include_usage)
        self._ended = False
        self.usage: TokenUsage | None = None

    def feed(self, data: bytes) -> bytes:
        return b"".join(self._handle(item) for item in self._decoder.feed(data))

    def finish(self) -> bytes:
        out = b"".join(self._handle(item) for item in self._decoder.finish())
        return out + (self._end() if not self._ended else b"")

    def produced_text(self) -> str:
        return self._writer.produced_text()

    def _end(self) -> bytes:
        self._ended = True
        return self._writer.end(self.usage)

    def _fail(self, message: str, error_type: str = "upstream_error") -> bytes:
        """An error the vendor sent mid-stream, then the end of the stream."""
        self._ended = True
        return self._writer.error(message, error_type) + b"data: [DONE]\n\n"

    def _handle(self, item: Any) -> bytes:
        raise NotImplementedError


class JSONEventTranslator(VendorChatTranslator):
    """A :class:`VendorChatTranslator` for SSE streams of JSON objects: ``_object`` gets each one.

    Empty, malformed and non-object events are skipped, as is everything after the end.
    """

    def __init__(self, model: str, *, include_usage: bool) -> None:
        super().__init__(SSEDecoder(), model, include_usage=include_usage)

    def _handle(self, item: Any) -> bytes:
        if self._ended or not item.data.strip():
            return b""
        try:
            data = decode_json(item.data)
        except msgspec.DecodeError:
            return b""
        return self._object(data) if isinstance(data, dict) else b""

    def _object(self, data: dict[str, Any]) -> bytes:
        raise NotImplementedError


class ChatChunkTranslator:
    """Base of the converters that read OpenAI chat chunks and write another client format.

    Subclasses turn one chunk into output bytes (``_chunk``), write an upstream error in
    their format (``_error``) and write the closing events once (``_end``, which sets
    ``_ended``); the closing comes at ``[DONE]`` or at the end of the upstream body,
    whichever is first.
    """

    def __init__(self) -> None:
        self._reader = ChatChunkReader()
        self._ended = False
        self._text: list[str] = []

    @property
    def usage(self) -> TokenUsage | None:
        return self._reader.usage

    def feed(self, data: bytes) -> bytes:
        out = b"".join(self._translate(chunk) for chunk in self._reader.feed(data))
        return out + (self._end() if self._reader.done and not self._ended else b"")

    def finish(self) -> bytes:
        out = b"".join(self._translate(chunk) for chunk in self._reader.finish())
        return out + (self._end() if not self._ended else b"")

    def produced_text(self) -> str:
        return "".join(self._text)

    def _translate(self, chunk: dict[str, Any]) -> bytes:
        if self._ended:
            return b""
        if "error" in chunk:
            error = chunk.get("error") or {}
            message = error.get("message") if isinstance(error, dict) else str(error)
            self._ended = True
            return self._error(message or "upstream error")
        return self._chunk(chunk)

    def _chunk(self, chunk: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def _error(self, message: str) -> bytes:
        raise NotImplementedError

    def _end(self) -> bytes:
        raise NotImplementedError


class UsageSniffer:
    """A vendor stream passed through untouched while its usage and text are read on the way.

    ``read`` is called with each decoded JSON event and the usage so far, and returns the
    updated usage and any generated text in the event (for counting when no usage came).
    Only SSE events that mention usage are decoded as they pass; the others (text deltas)
    are kept undecoded and read only if the stream ends without usage: a passed-through
    Claude Code stream then costs two decodes instead of one per event.
    """

    def __init__(self, read: Any, *, ndjson: bool = False) -> None:
        self._read = read
        self._decoder: StreamDecoder = NDJSONDecoder() if ndjson else SSEDecoder()
        self._text: list[str] = []
        self._unread: list[bytes] = []
        self.usage: TokenUsage | None = None

    def feed(self, data: bytes) -> bytes:
        self._inspect(self._decoder.feed(data))
        return data

    def finish(self) -> bytes:
        self._inspect(self._decoder.finish())
        return b""

    def produced_text(self) -> str:
        unread, self._unread = self._unread, []
        for data in unread:
            self._apply(_decoded(data))
        return "".join(self._text)

    def _inspect(self, events: list[Any]) -> None:
        for event in events:
            if not isinstance(event, SSEEvent):
                self._apply(event)
            elif b"usage" in event.data:
                self._apply(_decoded(event.data))
            else:
                self._unread.append(event.data)

    def _apply(self, document: Any) -> None:
        if isinstance(document, dict):
            self.usage, text = self._read(document, self.usage)
            if text:
                self._text.append(text)


def _decoded(data: bytes) -> Any:
    try:
        return decode_json(data) if data.strip() else None
    except msgspec.DecodeError:
        return None
