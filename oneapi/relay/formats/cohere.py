"""OpenAI chat completions and embeddings ⇄ Cohere's v2 API (``/v2/chat``, ``/v2/embed``).

Cohere v2 keeps OpenAI's roles, ``tool_calls`` and ``tool_call_id`` and takes OpenAI's
function tools as they are, so messages are copied nearly unchanged; sampling names
differ (``top_p`` is ``p``, ``stop`` is ``stop_sequences``), ``tool_choice`` is
``REQUIRED``/``NONE`` (a named function has no equivalent), and ``response_format``
takes the JSON schema inline. Answers put text in content blocks, finish reasons in
capitals and usage in ``usage.tokens`` (``billed_units`` as a fallback). Streams are SSE
whose events carry their own ``type``: ``message-start``, ``content-delta``,
``tool-call-start``/``-delta``, ``message-end`` (finish reason and usage).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from oneapi.errors import InvalidRequest, UnsupportedFeature
from oneapi.relay.formats.chat import (
    chat_completion,
    embedding_texts,
    max_tokens_of,
    reject_unsupported,
    stop_list,
    tool_choice_of,
)
from oneapi.relay.formats.events import JSONEventTranslator, TokenUsage

__all__ = ("CohereChatStream", "chat_to_cohere", "cohere_to_chat", "cohere_usage", "embeddings_from_cohere",
           "embeddings_to_cohere")

VENDOR = "Cohere"
_UNSUPPORTED = ("n", "logprobs", "top_logprobs", "logit_bias", "audio", "modalities", "prediction",
                "web_search_options", "functions")
_SAMPLING = (("temperature", "temperature"), ("top_p", "p"), ("seed", "seed"),
             ("frequency_penalty", "frequency_penalty"), ("presence_penalty", "presence_penalty"))
_FINISH = {"COMPLETE": "stop", "STOP_SEQUENCE": "stop", "MAX_TOKENS": "length", "TOOL_CALL": "tool_calls",
           "ERROR": "stop", "TIMEOUT": "stop"}
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}


def cohere_usage(usage: Any) -> TokenUsage | None:
    if not isinstance(usage, dict):
        return None
    counts = usage.get("tokens") or usage.get("billed_units") or {}
    return TokenUsage(prompt_tokens=int(counts.get("input_tokens") or 0),
                      completion_tokens=int(counts.get("output_tokens") or 0))


def _message(message: Any) -> dict[str, Any]:
    if not isinstance(message, dict) or message.get("role") not in _ROLES:
        role = message.get("role") if isinstance(message, dict) else None
        raise InvalidRequest(f"unknown message role {role!r}", param="messages")
    converted: dict[str, Any] = {"role": _ROLES[message["role"]]}
    content = message.get("content")
    if content is not None:
        converted["content"] = content
    if message.get("tool_calls"):
        converted["tool_calls"] = message["tool_calls"]
    if message.get("tool_call_id"):
        converted["tool_call_id"] = message["tool_call_id"]
    return converted


def _response_format(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or value.get("type") in (None, "text"):
        return None
    if value["type"] == "json_object":
        return {"type": "json_object"}
    if value["type"] == "json_schema":
        schema = (value.get("json_schema") or {}).get("schema")
        return {"type": "json_object", **({"json_schema": schema} if isinstance(schema, dict) else {})}
    raise UnsupportedFeature(f"{VENDOR} does not support response_format {value['type']!r}",
                             param="response_format")


def chat_to_cohere(document: Mapping[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI chat request as a Cohere ``/v2/chat`` request."""
    reject_unsupported(document, VENDOR, _UNSUPPORTED)
    body: dict[str, Any] = {"model": model, "messages": [_message(m) for m in document.get("messages") or ()]}
    if not body["messages"]:
        raise InvalidRequest("messages must not be empty", param="messages")
    for source, target in _SAMPLING:
        if document.get(source) is not None:
            body[target] = document[source]
    if limit := max_tokens_of(document):
        body["max_tokens"] = limit
    if stops := stop_list(document.get("stop")):
        body["stop_sequences"] = stops
    if response_format := _response_format(document.get("response_format")):
        body["response_format"] = response_format
    if document.get("tools"):
        body["tools"] = document["tools"]
        mode, _ = tool_choice_of(document)
        if mode == "function":
            raise UnsupportedFeature(f"{VENDOR} cannot be made to call one named tool; use 'required'",
                                     param="tool_choice")
        if mode in ("required", "none"):
            body["tool_choice"] = mode.upper()
    if document.get("stream"):
        body["stream"] = True
    return body


def _calls(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"id": call.get("id"), "type": "function",
             "function": {"name": (call.get("function") or {}).get("name"),
                          "arguments": (call.get("function") or {}).get("arguments") or "{}"}}
            for call in message.get("tool_calls") or ()]


def cohere_to_chat(answer: Mapping[str, Any], model: str) -> dict[str, Any]:
    """A ``/v2/chat`` answer as an OpenAI ``chat.completion``."""
    message = answer.get("message") or {}
    text = "".join(str(block.get("text") or "") for block in message.get("content") or ()
                   if isinstance(block, dict) and block.get("type") == "text")
    calls = _calls(message)
    reply: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        reply["tool_calls"] = calls
    finish = _FINISH.get(str(answer.get("finish_reason")), "stop")
    usage = cohere_usage(answer.get("usage"))
    return chat_completion(f"chatcmpl-{answer.get('id', '')}", model, int(time.time()),
                           [{"index": 0, "message": reply, "logprobs": None, "finish_reason": finish}],
                           usage.openai() if usage else None)


class CohereChatStream(JSONEventTranslator):
    """Cohere's v2 SSE events in, OpenAI chunks out."""

    def __init__(self, model: str, *, include_usage: bool) -> None:
        super().__init__(model, include_usage=include_usage)
        self._calls = 0

    def _object(self, data: dict[str, Any]) -> bytes:
        kind = data.get("type")
        message = (data.get("delta") or {}).get("message") or {}
        writer = self._writer
        if kind == "message-start":
            writer.id = f"chatcmpl-{data.get('id', '')}"
            return writer.delta({"content": ""})
        if kind == "content-delta":
            return writer.text(str((message.get("content") or {}).get("text") or ""))
        if kind == "tool-call-start":
            return self._call_start(message.get("tool_calls") or {})
        if kind == "tool-call-delta":
            arguments = ((message.get("tool_calls") or {}).get("function") or {}).get("arguments")
            return writer.tool_call(self._calls - 1, arguments=str(arguments)) if arguments else b""
        if kind == "message-end":
            return self._message_end(data.get("delta") or {})
        return b""  # tool-plan-delta, content-start/-end, citations

    def _call_start(self, call: Mapping[str, Any]) -> bytes:
        function = call.get("function") or {}
        self._calls += 1
        return self._writer.tool_call(self._calls - 1, call_id=str(call.get("id") or ""),
                                      name=str(function.get("name") or ""),
                                      arguments=str(function.get("arguments") or ""))

    def _message_end(self, delta: Mapping[str, Any]) -> bytes:
        """The usage and the finish reason, or the error Cohere ended the stream with."""
        self.usage = cohere_usage(delta.get("usage")) or self.usage
        if delta.get("finish_reason") == "ERROR":
            return self._fail(str(delta.get("error") or "Cohere ended the stream with an error"))
        return self._writer.finish(_FINISH.get(str(delta.get("finish_reason")), "stop")) + self._end()


def embeddings_to_cohere(document: Mapping[str, Any], model: str) -> dict[str, Any]:
    texts = embedding_texts(document, VENDOR)
    body: dict[str, Any] = {"model": model, "texts": texts, "input_type": "search_document",
                            "embedding_types": ["float"]}
    if document.get("dimensions"):
        body["output_dimension"] = document["dimensions"]
    return body


def embeddings_from_cohere(answer: Mapping[str, Any], model: str) -> dict[str, Any]:
    vectors = (answer.get("embeddings") or {}).get("float") or []
    tokens = int(((answer.get("meta") or {}).get("billed_units") or {}).get("input_tokens") or 0)
    return {"object": "list", "model": model,
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "usage": TokenUsage(prompt_tokens=tokens).openai()}
