"""Gemini-native requests served by a chat-completions upstream.

``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent`` bodies
become OpenAI chat requests; answers go back as ``GenerateContentResponse`` objects
(streamed as SSE with ``alt=sse``, else as one JSON array written piece by piece, as
Google does). Tool calls are held until their arguments are complete, because Gemini
sends each ``functionCall`` whole.

A Gemini channel gets the client's body untouched (``oneapi.relay.client_formats``); this
conversion runs only toward channels of other formats. Google Search grounding becomes
``web_search_options``; other built-in tools (code execution, URL context, ...) are left
out and named in :attr:`ClientChat.omitted`; inline documents (PDF) become chat ``file``
parts; earlier thought parts are the model's own and are not sent back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oneapi.errors import InvalidRequest, UnsupportedFeature
from oneapi.relay.formats.chat import ClientChat, new_call_id, parse_arguments
from oneapi.relay.formats.events import (
    ChatChunkTranslator,
    SSEDecoder,
    SSEEvent,
    TokenUsage,
    encode_json,
    sse,
)
from oneapi.relay.formats.media import file_part

__all__ = ("ChatToGeminiStream", "GeminiArrayFraming", "chat_to_gemini_response", "gemini_request_to_chat")

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "function_call": "STOP",
           "content_filter": "SAFETY"}
_CONFIG = (("temperature", "temperature"), ("topP", "top_p"), ("topK", "top_k"),
           ("maxOutputTokens", "max_tokens"),
           ("candidateCount", "n"), ("presencePenalty", "presence_penalty"),
           ("frequencyPenalty", "frequency_penalty"), ("seed", "seed"))
_SEARCH_TOOLS = frozenset({"googleSearch", "google_search", "googleSearchRetrieval",
                           "google_search_retrieval"})


def _parts_text(parts: Any) -> str:
    return "".join(str(part.get("text") or "") for part in parts or () if isinstance(part, dict))


def _content_part(part: Mapping[str, Any]) -> dict[str, Any]:
    """A text or inline-data part as a chat content part."""
    if "text" in part:
        return {"type": "text", "text": str(part["text"])}
    if "inlineData" in part:
        data = part["inlineData"] or {}
        mime, payload = str(data.get("mimeType") or "image/png"), str(data.get("data") or "")
        if mime.startswith("image/"):
            return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{payload}"}}
        return file_part(mime, payload, "document")
    kind = next(iter(part), "empty")
    raise UnsupportedFeature(f"'{kind}' parts cannot be sent to this channel", param="contents")


def _tool_call(call: Mapping[str, Any], pending: dict[str, list[str]]) -> dict[str, Any]:
    """A ``functionCall`` as a chat tool call; its id waits in ``pending`` for the answer."""
    call_id, name = call.get("id") or new_call_id(), call.get("name") or ""
    pending.setdefault(str(name), []).append(call_id)
    arguments = encode_json(call.get("args") or {}).decode()
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _tool_answer(answer: Mapping[str, Any], pending: dict[str, list[str]]) -> dict[str, Any]:
    """A ``functionResponse`` as a chat tool message, matched to its call by id or else by name."""
    name = str(answer.get("name") or "")
    waiting = pending.get(name) or [answer.get("id") or new_call_id()]
    return {"role": "tool", "tool_call_id": answer.get("id") or waiting.pop(0), "name": name,
            "content": encode_json(answer.get("response") or {}).decode()}


def _chat_message(role: str, parts: list[dict[str, Any]],
                  calls: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One content's parts as an assistant message (the model's turn) or a user message."""
    if role == "model":
        message: dict[str, Any] = {"role": "assistant",
                                   "content": "".join(part.get("text", "") for part in parts) or None}
        if calls:
            message["tool_calls"] = calls
        return message
    if not parts:
        return None
    only_text = all(part["type"] == "text" for part in parts)
    return {"role": "user", "content": "".join(part["text"] for part in parts) if only_text else parts}


def _contents_to_messages(contents: Any) -> list[dict[str, Any]]:
    """Gemini's ``contents`` as chat messages; a function's answer becomes a tool message of its own."""
    messages: list[dict[str, Any]] = []
    pending: dict[str, list[str]] = {}  # function name -> ids of calls not yet answered
    for content in contents or ():
        parts: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        for part in content.get("parts") or ():
            if part.get("thought"):
                continue  # the model's earlier reasoning
            if "functionCall" in part:
                calls.append(_tool_call(part["functionCall"] or {}, pending))
            elif "functionResponse" in part:
                messages.append(_tool_answer(part["functionResponse"] or {}, pending))
            else:
                parts.append(_content_part(part))
        message = _chat_message(content.get("role") or "user", parts, calls)
        if message is not None:
            messages.append(message)
    return messages


def gemini_request_to_chat(document: Mapping[str, Any], model: str, *, stream: bool) -> ClientChat:
    """A ``GenerateContentRequest`` as an OpenAI chat request."""
    messages = _contents_to_messages(document.get("contents"))
    system = document.get("systemInstruction") or document.get("system_instruction")
    if system and (text := _parts_text(system.get("parts"))):
        messages.insert(0, {"role": "system", "content": text})
    if not messages:
        raise InvalidRequest("contents is empty", param="contents")
    chat: dict[str, Any] = {"model": model, "messages": messages}
    converted = ClientChat(chat)
    _generation_config(document.get("generationConfig") or {}, chat)
    tools = _tools(document.get("tools") or (), converted)
    if tools:
        chat["tools"] = tools
        calling = (document.get("toolConfig") or {}).get("functionCallingConfig") or {}
        chat["tool_choice"] = _tool_choice(calling)
    if stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return converted


def _generation_config(config: Mapping[str, Any], chat: dict[str, Any]) -> None:
    """``generationConfig``'s sampling, limits, stop sequences and JSON output, into ``chat``."""
    for source, target in _CONFIG:
        if config.get(source) is not None:
            chat[target] = config[source]
    if config.get("stopSequences"):
        chat["stop"] = list(config["stopSequences"])
    if config.get("responseMimeType") == "application/json":
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        chat["response_format"] = ({"type": "json_schema",
                                    "json_schema": {"name": "response", "schema": schema}}
                                   if schema else {"type": "json_object"})


def _tools(tools: Any, converted: ClientChat) -> list[dict[str, Any]]:
    """The function declarations as chat tools; Google Search becomes ``web_search_options``,
    other built-in tools are named in ``converted.omitted``."""
    functions = []
    for tool in tools:
        for kind in tool:
            if kind in _SEARCH_TOOLS:
                converted.web_search = kind
                converted.document["web_search_options"] = {}
            elif kind not in ("functionDeclarations", "function_declarations"):
                converted.omitted.append(kind)
        for declaration in tool.get("functionDeclarations") or tool.get("function_declarations") or ():
            parameters = (declaration.get("parameters") or declaration.get("parametersJsonSchema")
                          or {"type": "object", "properties": {}})
            function = {"name": declaration.get("name"), "description": declaration.get("description") or "",
                        "parameters": _lower_types(parameters)}
            functions.append({"type": "function", "function": function})
    return functions


def _tool_choice(calling: Mapping[str, Any]) -> Any:
    """``functionCallingConfig`` as ``tool_choice``: one allowed function under ANY is forced."""
    mode = str(calling.get("mode") or "AUTO").upper()
    names = calling.get("allowedFunctionNames") or []
    if mode == "ANY" and len(names) == 1:
        return {"type": "function", "function": {"name": names[0]}}
    return {"ANY": "required", "NONE": "none"}.get(mode, "auto")


def _lower_types(schema: Any) -> Any:
    """Gemini's schemas may spell types in upper case (``OBJECT``); JSON Schema wants lower."""
    if isinstance(schema, list):
        return [_lower_types(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {key: (value.lower() if key == "type" and isinstance(value, str)
                  else {name: _lower_types(sub) for name, sub in value.items()} if key == "properties"
                  and isinstance(value, dict)
                  else _lower_types(value) if key in ("items", "anyOf") else value)
            for key, value in schema.items()}


def _usage_metadata(usage: TokenUsage | None) -> dict[str, int]:
    usage = usage or TokenUsage()
    metadata = {"promptTokenCount": usage.prompt_tokens,
                "candidatesTokenCount": usage.completion_tokens - usage.reasoning_tokens,
                "totalTokenCount": usage.prompt_tokens + usage.completion_tokens}
    if usage.reasoning_tokens:
        metadata["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cached_tokens:
        metadata["cachedContentTokenCount"] = usage.cached_tokens
    return metadata


def chat_to_gemini_response(completion: Mapping[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` as a ``GenerateContentResponse``."""
    candidates = []
    for position, choice in enumerate(completion.get("choices") or ()):
        reply = choice.get("message") or {}
        parts: list[dict[str, Any]] = []
        if reply.get("reasoning_content"):
            parts.append({"text": reply["reasoning_content"], "thought": True})
        if reply.get("content"):
            parts.append({"text": reply["content"]})
        for call in reply.get("tool_calls") or ():
            function = call.get("function") or {}
            parts.append({"functionCall": {"name": function.get("name") or "",
                                           "args": parse_arguments(function.get("arguments"))}})
        candidates.append({"content": {"role": "model", "parts": parts},
                           "index": choice.get("index", position),
                           "finishReason": _FINISH.get(choice.get("finish_reason") or "stop", "STOP")})
    return {"candidates": candidates,
            "usageMetadata": _usage_metadata(TokenUsage.from_openai(completion.get("usage"))),
            "modelVersion": model}


class ChatToGeminiStream(ChatChunkTranslator):
    """OpenAI chat chunks in, ``GenerateContentResponse`` pieces out (SSE or a JSON array)."""

    def __init__(self, model: str, *, sse_format: bool = True) -> None:
        super().__init__()
        self._model = model
        self._sse = sse_format
        self._pieces = 0
        self._calls: dict[int, dict[str, str]] = {}  # position -> name, arguments so far
        self._finish: str | None = None

    def _write(self, response: dict[str, Any]) -> bytes:
        self._pieces += 1
        if self._sse:
            return sse(response)
        return (b"[" if self._pieces == 1 else b",\r\n") + encode_json(response)

    def _piece(self, parts: list[dict[str, Any]]) -> bytes:
        candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
        return self._write({"candidates": [candidate], "modelVersion": self._model})

    def _error(self, message: str) -> bytes:
        return self._write({"error": {"code": 500, "message": message, "status": "INTERNAL"}}) + (
            b"" if self._sse else b"]")

    def _chunk(self, chunk: dict[str, Any]) -> bytes:
        out: list[bytes] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            parts: list[dict[str, Any]] = []
            if delta.get("reasoning_content"):
                parts.append({"text": delta["reasoning_content"], "thought": True})
            if delta.get("content"):
                parts.append({"text": delta["content"]})
            for part in parts:
                self._text.append(part["text"])
            for call in delta.get("tool_calls") or ():
                function = call.get("function") or {}
                held = self._calls.setdefault(int(call.get("index") or 0), {"name": "", "arguments": ""})
                held["name"] = held["name"] or str(function.get("name") or "")
                held["arguments"] += str(function.get("arguments") or "")
            if parts:
                out.append(self._piece(parts))
            if choice.get("finish_reason"):
                self._finish = _FINISH.get(choice["finish_reason"], "STOP")
        return b"".join(out)

    def _end(self) -> bytes:
        """The last piece: held tool calls, the finish reason and ``usageMetadata``."""
        self._ended = True
        parts = [{"functionCall": {"name": call["name"], "args": parse_arguments(call["arguments"])}}
                 for _, call in sorted(self._calls.items())]
        for call in self._calls.values():
            self._text.append(call["name"] + call["arguments"])
        candidate = {"content": {"role": "model", "parts": parts}, "index": 0,
                     "finishReason": self._finish or "STOP"}
        last = self._write({"candidates": [candidate], "usageMetadata": _usage_metadata(self.usage),
                            "modelVersion": self._model})
        return last + (b"" if self._sse else b"]")


class GeminiArrayFraming:
    """Gemini SSE pieces re-framed as the JSON array Gemini streams without ``alt=sse``.

    Wraps a converter that returns the SSE bytes unchanged (a usage sniffer), so usage is
    read from the SSE form while the client gets the array it asked for.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._events = SSEDecoder()
        self._pieces = 0

    @property
    def usage(self) -> TokenUsage | None:
        return self._inner.usage

    def feed(self, data: bytes) -> bytes:
        return self._frame(self._events.feed(self._inner.feed(data)))

    def finish(self) -> bytes:
        out = self._frame(self._events.feed(self._inner.finish()) + self._events.finish())
        return out + (b"]" if self._pieces else b"[]")

    def produced_text(self) -> str:
        return str(self._inner.produced_text())

    def _frame(self, events: list[SSEEvent]) -> bytes:
        out: list[bytes] = []
        for event in events:
            if not event.data.strip():
                continue
            out.append((b"[" if not self._pieces else b",\r\n") + event.data)
            self._pieces += 1
        return b"".join(out)
