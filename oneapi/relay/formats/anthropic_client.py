"""Anthropic Messages requests served by a chat-completions upstream (``POST /v1/messages``).

Clients such as Claude Code and the ``anthropic`` SDK speak Anthropic's format; an
Anthropic channel gets their body untouched (``oneapi.relay.client_formats``). Only when the chosen
channel is of another format does the request become an OpenAI chat request, and the
answer (whole or streamed) is turned back into a Message or into Anthropic's event
sequence (``message_start``, content blocks with ``text_delta``/``input_json_delta``/
``thinking_delta``, ``message_delta`` with the stop reason and usage, ``message_stop``).

What chat has no field for is carried in its terms, never refused: a ``system`` message
inside ``messages`` (Claude Code's ``mid-conversation-system`` beta) stays a system
message at its place; the web-search server tool becomes ``web_search_options``; other
server tools (code execution, web fetch, ...) are left out and named in
:attr:`ClientChat.omitted`; ``document`` blocks become chat ``file`` parts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from oneapi.errors import InvalidRequest, UnsupportedFeature
from oneapi.relay.formats.anthropic_upstream import reasoning_effort_for
from oneapi.relay.formats.chat import ClientChat, parse_arguments
from oneapi.relay.formats.events import ChatChunkTranslator, TokenUsage, encode_json, sse
from oneapi.relay.formats.media import file_part

__all__ = ("ChatToAnthropicStream", "chat_to_message", "messages_to_chat")

_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
         "content_filter": "refusal"}


def _text_of(blocks: Any) -> str:
    if isinstance(blocks, str):
        return blocks
    return "\n".join(str(block.get("text") or "") for block in blocks or ()
                     if isinstance(block, dict) and block.get("type") == "text")


def _image_part(source: Mapping[str, Any]) -> dict[str, Any]:
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type') or 'image/png'};base64,{source.get('data') or ''}"
    elif source.get("type") == "url":
        url = str(source.get("url") or "")
    else:
        raise UnsupportedFeature(f"image source {source.get('type')!r} cannot be sent to this channel",
                                 param="messages")
    return {"type": "image_url", "image_url": {"url": url}}


def _document_parts(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A ``document`` block as chat parts: base64 (PDF) a ``file`` part, plain text a text part."""
    source = block.get("source") or {}
    kind = source.get("type")
    if kind == "base64":
        name = str(block.get("title") or "document.pdf")
        return [file_part(str(source.get("media_type") or "application/pdf"), str(source.get("data") or ""),
                          name)]
    if kind == "text":
        return [{"type": "text", "text": str(source.get("data") or "")}]
    if kind == "content":
        return [{"type": "text", "text": _text_of(source.get("content"))}]
    raise UnsupportedFeature(f"'document' blocks with a {kind!r} source reach only Anthropic channels; "
                             "send the document as base64 data", param="messages")


def _user_turn(content: Any) -> list[dict[str, Any]]:
    """One Anthropic user turn: tool results become ``tool`` messages, the rest one user message."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tool_messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in content or ():
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            parts.append({"type": "text", "text": block.get("text") or ""})
        elif kind == "image":
            parts.append(_image_part(block.get("source") or {}))
        elif kind == "document":
            parts.extend(_document_parts(block))
        elif kind == "tool_result":
            text = _text_of(block.get("content"))
            if block.get("is_error"):
                text = f"Error: {text}"
            tool_messages.append({"role": "tool", "tool_call_id": block.get("tool_use_id") or "",
                                  "content": text})
        else:
            raise UnsupportedFeature(f"'{kind}' content blocks cannot be sent to this channel",
                                     param="messages")
    messages = list(tool_messages)
    if parts:
        only_text = all(part["type"] == "text" for part in parts)
        messages.append({"role": "user",
                         "content": "\n".join(part["text"] for part in parts) if only_text else parts})
    return messages


def _assistant_turn(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content or ():
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            text.append(block.get("text") or "")
        elif kind == "tool_use":
            calls.append({"id": block.get("id") or "", "type": "function",
                          "function": {"name": block.get("name") or "",
                                       "arguments": encode_json(block.get("input") or {}).decode()}})
        elif kind in ("thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result"):
            continue  # earlier reasoning and server-side searches are Anthropic's own record
        else:
            raise UnsupportedFeature(f"'{kind}' content blocks cannot be sent to this channel",
                                     param="messages")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def messages_to_chat(document: Mapping[str, Any]) -> ClientChat:
    """An Anthropic Messages request as an OpenAI chat request."""
    chat: dict[str, Any] = {"model": document.get("model"), "messages": _chat_messages(document)}
    converted = ClientChat(chat)
    _sampling(document, chat)
    tools = _tools(document.get("tools") or (), converted)
    if tools:
        chat["tools"] = tools
        choice = document.get("tool_choice") or {}
        chat["tool_choice"] = _tool_choice(choice, tools)
        if choice.get("disable_parallel_tool_use"):
            chat["parallel_tool_calls"] = False
    return converted


def _chat_messages(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The system prompt and the turns as chat messages."""
    messages: list[dict[str, Any]] = []
    if system := _text_of(document.get("system")):
        messages.append({"role": "system", "content": system})
    for position, message in enumerate(document.get("messages") or ()):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "user":
            messages.extend(_user_turn(message.get("content")))
        elif role == "assistant":
            messages.append(_assistant_turn(message.get("content")))
        elif role == "system":  # the mid-conversation-system beta: an instruction at this point
            messages.append({"role": "system", "content": _text_of(message.get("content"))})
        else:  # Anthropic's wording, which clients such as Claude Code recognise
            raise InvalidRequest(f"messages.{position}.role: Unexpected role {role!r}. The Messages API "
                                 "accepts the roles \"user\", \"assistant\" and \"system\"", param="messages")
    return messages


def _sampling(document: Mapping[str, Any], chat: dict[str, Any]) -> None:
    """Limits, sampling, stop sequences, streaming, the end user and thinking, into ``chat``."""
    if document.get("max_tokens"):
        chat["max_tokens"] = document["max_tokens"]
    for name in ("temperature", "top_p", "top_k"):
        if document.get(name) is not None:
            chat[name] = document[name]
    if document.get("stop_sequences"):
        chat["stop"] = list(document["stop_sequences"])
    if document.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    if user := (document.get("metadata") or {}).get("user_id"):
        chat["user"] = user
    thinking = document.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        # OpenAI's form of extended thinking; each adapter maps it back to its vendor's.
        chat["reasoning_effort"] = reasoning_effort_for(int(thinking.get("budget_tokens") or 0))


def _tool_choice(choice: Mapping[str, Any], tools: list[dict[str, Any]]) -> Any:
    """Anthropic's ``tool_choice`` in chat's form; a named tool that is not offered means ``auto``."""
    kind = choice.get("type", "auto")
    if kind == "tool" and any(tool["function"]["name"] == choice.get("name") for tool in tools):
        return {"type": "function", "function": {"name": choice.get("name")}}
    return {"any": "required", "none": "none"}.get(kind, "auto")


def _tools(tools: Any, converted: ClientChat) -> list[dict[str, Any]]:
    """Custom tools as chat functions; the web-search server tool as ``web_search_options``."""
    functions = []
    for tool in tools:
        kind = tool.get("type")
        if kind in (None, "custom") and "input_schema" in tool:
            functions.append({"type": "function", "function": {"name": tool["name"],
                                                               "description": tool.get("description") or "",
                                                               "parameters": tool["input_schema"]}})
        elif str(kind).startswith("web_search_"):
            converted.web_search = str(kind)
            converted.document["web_search_options"] = {}
        else:
            converted.omitted.append(str(kind or tool.get("name")))
    return functions


def _usage(usage: TokenUsage | None) -> dict[str, int]:
    usage = usage or TokenUsage()
    return {"input_tokens": usage.prompt_tokens - usage.cached_tokens,
            "output_tokens": usage.completion_tokens,
            "cache_read_input_tokens": usage.cached_tokens, "cache_creation_input_tokens": 0}


def _message_id() -> str:
    return f"msg_{uuid.uuid4().hex[:24]}"


def chat_to_message(completion: Mapping[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` as an Anthropic Message."""
    choice = (completion.get("choices") or [{}])[0]
    reply = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if reply.get("reasoning_content"):
        content.append({"type": "thinking", "thinking": reply["reasoning_content"], "signature": ""})
    if reply.get("content"):
        content.append({"type": "text", "text": reply["content"]})
    for call in reply.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                        "name": function.get("name") or "",
                        "input": parse_arguments(function.get("arguments"))})
    return {"id": _message_id(), "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": _STOP.get(choice.get("finish_reason") or "stop", "end_turn"),
            "stop_sequence": None,
            "usage": _usage(TokenUsage.from_openai(completion.get("usage")))}


class ChatToAnthropicStream(ChatChunkTranslator):
    """OpenAI chat chunks in, Anthropic Messages stream events out."""

    def __init__(self, model: str) -> None:
        super().__init__()
        self._model = model
        self._started = False
        self._block = -1
        self._block_kind = ""
        self._tools: dict[int, int] = {}  # tool call position -> block index
        self._stop = "end_turn"

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        message: dict[str, Any] = {"id": _message_id(), "type": "message", "role": "assistant",
                                   "model": self._model, "content": [], "stop_reason": None,
                                   "stop_sequence": None, "usage": _usage(None)}
        return sse({"type": "message_start", "message": message}, "message_start")

    def _close_block(self) -> bytes:
        if self._block < 0 or not self._block_kind:
            return b""
        self._block_kind = ""
        return sse({"type": "content_block_stop", "index": self._block}, "content_block_stop")

    def _open_block(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close_block()
        self._block += 1
        self._block_kind = kind
        return out + sse({"type": "content_block_start", "index": self._block, "content_block": block},
                         "content_block_start")

    def _delta(self, delta: dict[str, Any], index: int | None = None) -> bytes:
        return sse({"type": "content_block_delta", "index": self._block if index is None else index,
                    "delta": delta}, "content_block_delta")

    def _error(self, message: str) -> bytes:
        return sse({"type": "error", "error": {"type": "api_error", "message": message}}, "error")

    def _chunk(self, chunk: dict[str, Any]) -> bytes:
        out = [self._start()]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if reasoning := delta.get("reasoning_content"):
                if self._block_kind != "thinking":
                    out.append(self._open_block("thinking",
                                                {"type": "thinking", "thinking": "", "signature": ""}))
                out.append(self._delta({"type": "thinking_delta", "thinking": reasoning}))
                self._text.append(reasoning)
            if text := delta.get("content"):
                if self._block_kind != "text":
                    out.append(self._open_block("text", {"type": "text", "text": ""}))
                out.append(self._delta({"type": "text_delta", "text": text}))
                self._text.append(text)
            for call in delta.get("tool_calls") or ():
                out.append(self._tool_delta(call))
            if reason := choice.get("finish_reason"):
                self._stop = _STOP.get(reason, "end_turn")
        return b"".join(out)

    def _tool_delta(self, call: Mapping[str, Any]) -> bytes:
        position = int(call.get("index") or 0)
        function = call.get("function") or {}
        out = b""
        if position not in self._tools:
            out = self._open_block("tool_use",
                                   {"type": "tool_use", "id": call.get("id") or f"toolu_{position}",
                                                "name": function.get("name") or "", "input": {}})
            self._tools[position] = self._block
        if arguments := function.get("arguments"):
            self._text.append(arguments)
            out += self._delta({"type": "input_json_delta", "partial_json": arguments}, self._tools[position])
        return out

    def _end(self) -> bytes:
        self._ended = True
        usage = _usage(self.usage)
        return (self._start() + self._close_block()
                + sse({"type": "message_delta", "delta": {"stop_reason": self._stop, "stop_sequence": None},
                       "usage": usage}, "message_delta")
                + sse({"type": "message_stop"}, "message_stop"))
