"""OpenAI chat completions ⇄ AWS Bedrock's Converse API, and Bedrock's binary event stream.

Converse is Bedrock's one chat format for every model it hosts (Claude, Llama, Mistral,
Nova, DeepSeek, ...). Its shape is Anthropic's Messages API renamed: alternating
user/assistant turns of content blocks, a top-level system list, tool use and tool result
blocks. So a chat request is converted to Anthropic's body first
(:func:`~oneapi.relay.formats.anthropic_upstream.chat_to_anthropic`, which owns the message rules)
and then renamed block by block; answers and stream events are renamed back into
Anthropic's shape and converted to chat by the Anthropic converters. What differs:
sampling lives in ``inferenceConfig``, Claude-only fields (``top_k``, ``thinking``) in
``additionalModelRequestFields``, images are ``{format, source.bytes}``, there is no
``tool_choice: none``, and usage arrives in the stream's last event (``metadata``),
after ``messageStop``.

ConverseStream answers ``application/vnd.amazon.eventstream``: binary frames (prelude
with lengths and a CRC32, typed headers, payload, message CRC32), decoded by
:class:`EventStreamDecoder`, which checks both checksums.
"""

from __future__ import annotations

import base64
import binascii
import struct
import uuid
import zlib
from collections.abc import Mapping
from typing import Any

from oneapi.errors import UnsupportedFeature
from oneapi.relay.formats.anthropic_upstream import (
    AnthropicChatStream,
    anthropic_usage,
    chat_to_anthropic,
    message_to_chat,
    read_anthropic_event,
)
from oneapi.relay.formats.chat import embedding_texts
from oneapi.relay.formats.events import SSEEvent, TokenUsage, decode_json, encode_json
from oneapi.relay.formats.media import InlineImage

__all__ = ("ConverseStream", "EventStreamDecoder", "EventStreamError", "InvokeStream", "chat_to_converse",
           "converse_to_chat", "converse_usage", "embeddings_from_bedrock", "embeddings_to_bedrock")

VENDOR = "AWS Bedrock"
_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                  "image/webp": "webp"}
_INFERENCE_FIELDS = (("temperature", "temperature"), ("top_p", "topP"), ("stop_sequences", "stopSequences"))
_STOP_REASONS = {"guardrail_intervened": "refusal", "content_filtered": "refusal",
                 "model_context_window_exceeded": "max_tokens"}


class EventStreamError(Exception):
    """A frame of the binary event stream is malformed or fails its checksum."""


_PRELUDE = struct.Struct("!III")  # total length, headers length, CRC32 of the two lengths
_PRELUDE_AND_CRC = _PRELUDE.size + 4  # the bytes of a frame besides its headers and payload
_MAX_HEADERS = 128 * 1024  # AWS's limits, as its SDKs enforce them
_MAX_PAYLOAD = 24 * 1024 * 1024
_BOOLEAN_TYPES = {0: True, 1: False}
_NUMBER_TYPES = {2: struct.Struct("!b"), 3: struct.Struct("!h"), 4: struct.Struct("!i"),
                 5: struct.Struct("!q"), 8: struct.Struct("!q")}  # 8: a timestamp, in ms
_BYTES_TYPE, _STRING_TYPE, _UUID_TYPE = 6, 7, 9
_LENGTH = struct.Struct("!H")  # of a byte array's or a UTF-8 string's value


class EventStreamDecoder:
    """AWS event-stream frames out of raw network reads, as ``(headers, payload)`` pairs.

    The wire format as AWS documents it (for S3 Select and Transcribe streaming; the same
    for every AWS event stream): a 12-byte prelude of the frame's total length, its headers'
    length and the CRC32 of those 8 bytes; the headers, each a 1-byte name length, the name,
    a 1-byte type and its value (booleans carry none; integers of 1, 2, 4 and 8 bytes; byte
    arrays and strings with a 2-byte length; 8-byte timestamps; 16-byte UUIDs); the payload;
    the CRC32 of everything before it. Values come out as botocore's decoder, which this one
    replaced, gave them: timestamps in milliseconds, UUIDs as bytes.

    Written here because no small library does it on Python 3.11: botocore's decoder came
    with AWS's SDK core (22.4 MB installed; :mod:`oneapi.relay.adapters.bedrock` says more),
    awscrt's is in a 12.6 MB native package, and ``smithy-aws-event-stream`` (like AWS's new
    SDK packages) needs Python 3.12. ``tests/relay/channels/test_bedrock.py`` checks
    it against botocore's decoder on generated frames of every header type.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[dict[str, Any], bytes]]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= _PRELUDE.size:
            total, headers_length, prelude_crc = _PRELUDE.unpack_from(self._buffer)
            _check("prelude", prelude_crc, zlib.crc32(self._buffer[:8]))
            payload_length = total - _PRELUDE_AND_CRC - headers_length
            if headers_length > _MAX_HEADERS or not 0 <= payload_length <= _MAX_PAYLOAD:
                raise _malformed(f"a frame of {total} bytes with {headers_length} bytes of headers")
            if len(self._buffer) < total:
                break
            frame = bytes(self._buffer[:total])
            del self._buffer[:total]
            _check("message", int.from_bytes(frame[-4:]), zlib.crc32(frame[:-4]))
            payload_start = _PRELUDE.size + headers_length
            frames.append((_headers(frame[_PRELUDE.size:payload_start]), frame[payload_start:-4]))
        return frames

    def finish(self) -> list[tuple[dict[str, Any], bytes]]:
        return []


def _malformed(detail: str) -> EventStreamError:
    return EventStreamError(f"{VENDOR} sent a malformed event-stream frame: {detail}")


def _check(part: str, expected: int, computed: int) -> None:
    if expected != computed:
        raise _malformed(f"{part} checksum mismatch: expected 0x{expected:08x}, computed 0x{computed:08x}")


def _headers(data: bytes) -> dict[str, Any]:
    """A frame's headers section (its CRC already checked) as a dict."""
    headers: dict[str, Any] = {}
    offset = 0
    try:
        while offset < len(data):
            name_end = offset + 1 + data[offset]
            name, kind, offset = data[offset + 1:name_end].decode(), data[name_end], name_end + 1
            value: Any
            if kind in _BOOLEAN_TYPES:
                value = _BOOLEAN_TYPES[kind]
            elif kind in _NUMBER_TYPES:
                number = _NUMBER_TYPES[kind]
                value = number.unpack_from(data, offset)[0]
                offset += number.size
            elif kind in (_BYTES_TYPE, _STRING_TYPE):
                start = offset + _LENGTH.size
                offset = start + _LENGTH.unpack_from(data, offset)[0]
                value = data[start:offset].decode() if kind == _STRING_TYPE else data[start:offset]
            elif kind == _UUID_TYPE:
                value, offset = data[offset:offset + 16], offset + 16
            else:
                raise _malformed(f"header {name!r} has the unknown type {kind}")
            if name in headers:
                raise _malformed(f"header {name!r} appears twice")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise _malformed(f"its headers cannot be read ({exc})") from None
    if offset != len(data):
        raise _malformed("its last header runs past the headers section")
    return headers


# -- requests --------------------------------------------------------------------------
def _image(source: Mapping[str, Any]) -> dict[str, Any]:
    image = InlineImage(str(source.get("media_type") or ""), str(source.get("data") or ""))
    kind = _IMAGE_FORMATS.get(image.media_type)
    if kind is None:
        raise UnsupportedFeature(f"{VENDOR} takes png, jpeg, gif or webp images, not {image.media_type}",
                                 param="messages")
    return {"image": {"format": kind, "source": {"bytes": image.data}}}


def _block(block: Mapping[str, Any]) -> dict[str, Any]:
    """One Anthropic content block as a Converse content block."""
    kind = block.get("type")
    if kind == "text":
        return {"text": block.get("text") or ""}
    if kind == "image":
        return _image(block.get("source") or {})
    if kind == "tool_use":
        return {"toolUse": {"toolUseId": block.get("id") or "", "name": block.get("name") or "",
                            "input": block.get("input") or {}}}
    if kind == "tool_result":
        content = block.get("content")
        parts = [{"text": content}] if isinstance(content, str) else [_block(part) for part in content or ()]
        return {"toolResult": {"toolUseId": block.get("tool_use_id") or "",
                               "content": parts or [{"text": ""}]}}
    raise UnsupportedFeature(f"{VENDOR} does not support '{kind}' content", param="messages")


def _tool_choice(choice: Mapping[str, Any]) -> dict[str, Any]:
    kind = choice.get("type")
    if kind == "none":
        raise UnsupportedFeature(f"{VENDOR} Converse has no tool_choice 'none'; leave the tools out instead",
                                 param="tool_choice")
    if kind == "tool":
        return {"tool": {"name": choice.get("name") or ""}}
    return {"any": {}} if kind == "any" else {"auto": {}}


def chat_to_converse(document: Mapping[str, Any],
                     images: Mapping[str, InlineImage] | None = None) -> dict[str, Any]:
    """An OpenAI chat request as a Converse body (``response_format`` becomes a forced tool)."""
    anthropic = chat_to_anthropic(document, "", images).body
    body: dict[str, Any] = {"messages": [
        {"role": turn["role"], "content": [_block(block) for block in turn["content"]]}
        for turn in anthropic["messages"]]}
    if anthropic.get("system"):
        body["system"] = [{"text": block["text"]} for block in anthropic["system"]]
    inference: dict[str, Any] = {"maxTokens": anthropic["max_tokens"]}
    for source, target in _INFERENCE_FIELDS:
        if source in anthropic:
            inference[target] = anthropic[source]
    body["inferenceConfig"] = inference
    extra = {name: anthropic[name] for name in ("top_k", "thinking") if name in anthropic}
    if extra:
        body["additionalModelRequestFields"] = extra
    if anthropic.get("tools"):
        tools = [{"toolSpec": {"name": tool["name"], "description": tool["description"] or tool["name"],
                               "inputSchema": {"json": tool["input_schema"]}}} for tool in anthropic["tools"]]
        body["toolConfig"] = {"tools": tools, "toolChoice": _tool_choice(anthropic.get("tool_choice") or {})}
    return body


# -- answers ---------------------------------------------------------------------------
def _anthropic_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Converse usage named as Anthropic's (both leave cache reads and writes out of the input)."""
    return {"input_tokens": usage.get("inputTokens"), "output_tokens": usage.get("outputTokens"),
            "cache_read_input_tokens": usage.get("cacheReadInputTokens"),
            "cache_creation_input_tokens": usage.get("cacheWriteInputTokens")}


def converse_usage(usage: Any) -> TokenUsage | None:
    """Converse usage in OpenAI's terms."""
    return anthropic_usage(_anthropic_usage(usage)) if isinstance(usage, dict) else None


def _anthropic_block(block: Mapping[str, Any]) -> dict[str, Any] | None:
    if "text" in block:
        return {"type": "text", "text": block["text"]}
    if "toolUse" in block:
        use = block["toolUse"]
        return {"type": "tool_use", "id": use.get("toolUseId"), "name": use.get("name"),
                "input": use.get("input")}
    reasoning = (block.get("reasoningContent") or {}).get("reasoningText")
    if isinstance(reasoning, dict):
        return {"type": "thinking", "thinking": reasoning.get("text") or ""}
    return None


def _stop_reason(reason: Any) -> str:
    return _STOP_REASONS.get(str(reason), str(reason or "end_turn"))


def converse_to_chat(answer: Mapping[str, Any], model: str, *, json_tool: bool) -> dict[str, Any]:
    """A Converse answer as an OpenAI ``chat.completion``."""
    content = ((answer.get("output") or {}).get("message") or {}).get("content") or ()
    blocks = [block for raw in content
              if isinstance(raw, dict) and (block := _anthropic_block(raw)) is not None]
    message = {"id": uuid.uuid4().hex[:24], "model": model, "content": blocks,
               "stop_reason": _stop_reason(answer.get("stopReason")),
               "usage": _anthropic_usage(answer.get("usage") or {})}
    return message_to_chat(message, json_tool=json_tool)


class ConverseStream(AnthropicChatStream):
    """ConverseStream's binary event stream in, OpenAI chunks out.

    Each Converse event is renamed to the Anthropic event it corresponds to and handled
    by :class:`AnthropicChatStream`; usage, which Converse sends after ``messageStop``,
    is read from the closing ``metadata`` event before the stream is ended.
    """

    def __init__(self, model: str, *, include_usage: bool, json_tool: bool) -> None:
        super().__init__(model, include_usage=include_usage, json_tool=json_tool)
        self._decoder = EventStreamDecoder()

    def feed(self, data: bytes) -> bytes:
        try:
            return super().feed(data)
        except EventStreamError as exc:
            return b"" if self._ended else self._fail(str(exc))

    def _handle(self, frame: Any) -> bytes:
        headers, payload = frame
        if self._ended:
            return b""
        try:
            event = decode_json(payload) if payload else {}
        except ValueError:
            return self._fail(f"{VENDOR} sent an event that is not JSON")
        if headers.get(":message-type") != "event":
            kind = headers.get(":exception-type") or headers.get(":error-code") or "upstream_error"
            message = event.get("message") if isinstance(event, dict) else None
            return self._fail(str(message or headers.get(":error-message") or kind), str(kind))
        kind = str(headers.get(":event-type") or "")
        if kind == "messageStart":  # no usage yet: Converse reports it only at the end
            return self._writer.delta({"content": ""})
        anthropic = _anthropic_event(kind, event)
        if anthropic is None:
            return b""
        if anthropic.get("type") == "message_stop":
            self.usage = converse_usage(event.get("usage")) or self.usage
        return super()._handle(SSEEvent(b"", encode_json(anthropic)))


def _anthropic_event(kind: str, event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Anthropic stream event a Converse stream event stands for (None: nothing to say)."""
    index = int(event.get("contentBlockIndex") or 0)
    if kind == "contentBlockStart":
        use = (event.get("start") or {}).get("toolUse")
        if not isinstance(use, dict):
            return None
        return {"type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": use.get("toolUseId"), "name": use.get("name")}}
    if kind == "contentBlockDelta":
        delta = event.get("delta") or {}
        if "text" in delta:
            return {"type": "content_block_delta", "index": index,
                    "delta": {"type": "text_delta", "text": delta["text"]}}
        if "toolUse" in delta:
            fragment = (delta["toolUse"] or {}).get("input")
            return {"type": "content_block_delta", "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": fragment}}
        reasoning = delta.get("reasoningContent") or {}
        if reasoning.get("text"):
            return {"type": "content_block_delta", "index": index,
                    "delta": {"type": "thinking_delta", "thinking": reasoning["text"]}}
        return None
    if kind == "messageStop":
        return {"type": "message_delta", "delta": {"stop_reason": _stop_reason(event.get("stopReason"))}}
    if kind == "metadata":
        return {"type": "message_stop"}
    return None  # contentBlockStop and event types added later


class InvokeStream:
    """InvokeModelWithResponseStream's frames in, Anthropic's own SSE out (``/v1/messages`` clients).

    Each ``chunk`` frame carries one Anthropic stream event, base64-encoded in ``bytes``; it
    is written as the ``event:``/``data:`` pair Anthropic's API would have sent. Usage is read
    on the way, as from a passed-through Anthropic stream; an exception frame becomes
    Anthropic's ``error`` event.
    """

    def __init__(self) -> None:
        self._decoder = EventStreamDecoder()
        self._text: list[str] = []
        self._failed = False
        self.usage: TokenUsage | None = None

    def feed(self, data: bytes) -> bytes:
        if self._failed:
            return b""
        try:
            return b"".join(self._event(headers, payload) for headers, payload in self._decoder.feed(data))
        except (EventStreamError, ValueError, binascii.Error) as exc:
            return self._error("api_error", f"{VENDOR} sent a stream that cannot be read: {exc}")

    def finish(self) -> bytes:
        return b""

    def produced_text(self) -> str:
        return "".join(self._text)

    def _event(self, headers: Mapping[str, Any], payload: bytes) -> bytes:
        if self._failed:
            return b""
        document = decode_json(payload) if payload else {}
        if headers.get(":message-type") != "event":
            kind = str(headers.get(":exception-type") or "api_error")
            return self._error(kind, str(document.get("message") or kind))
        if headers.get(":event-type") != "chunk":
            return b""
        raw = base64.b64decode(document.get("bytes") or "")
        event = decode_json(raw)
        self.usage, text = read_anthropic_event(event, self.usage)
        if text:
            self._text.append(text)
        return b"event: " + str(event.get("type") or "message").encode() + b"\ndata: " + raw + b"\n\n"

    def _error(self, kind: str, message: str) -> bytes:
        self._failed = True
        error = {"type": "error", "error": {"type": kind, "message": message}}
        return b"event: error\ndata: " + encode_json(error) + b"\n\n"


# -- embeddings (InvokeModel) -------------------------------------------------------------
def embeddings_to_bedrock(document: Mapping[str, Any], model_id: str) -> dict[str, Any]:
    """Titan takes one ``inputText`` a call; Cohere's embed models take a list of ``texts``."""
    texts = embedding_texts(document, VENDOR)
    if ".titan-embed" in model_id:
        if len(texts) != 1:
            raise UnsupportedFeature(f"{VENDOR} Titan embeds one text per request; send one input",
                                     param="input")
        body: dict[str, Any] = {"inputText": texts[0]}
        if document.get("dimensions"):
            body["dimensions"] = document["dimensions"]
        return body
    return {"texts": texts, "input_type": "search_document"}


def embeddings_from_bedrock(answer: Mapping[str, Any], model: str, counted_tokens: int) -> dict[str, Any]:
    """Titan's ``embedding`` with its token count, or Cohere's ``embeddings`` (counted locally)."""
    if "embedding" in answer:
        vectors: list[Any] | None = [answer["embedding"]]
        tokens = int(answer.get("inputTextTokenCount") or counted_tokens)
    else:
        embeddings = answer.get("embeddings")
        vectors = embeddings.get("float") if isinstance(embeddings, dict) else embeddings
        tokens = counted_tokens
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors or ())]
    usage = TokenUsage(prompt_tokens=tokens).openai()
    return {"object": "list", "model": model, "data": data, "usage": usage}
