"""OpenAI chat completions ⇄ Ollama ``/api/chat`` and ``/api/embed``.

Ollama keeps OpenAI's roles and tool shape but wants sampling fields under ``options``
(``max_tokens`` is ``num_predict``), images as bare base64 strings in ``images``, tool
arguments as objects, JSON mode as ``format``, and streams newline-delimited JSON whose
last line (``done: true``) carries ``prompt_eval_count``/``eval_count``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from oneapi.errors import InvalidRequest, UnsupportedFeature
from oneapi.relay.formats.chat import (
    chat_completion,
    function_tools,
    max_tokens_of,
    new_call_id,
    parse_arguments,
    reject_unsupported,
    stop_list,
    unsupported_part,
)
from oneapi.relay.formats.events import NDJSONDecoder, TokenUsage, VendorChatTranslator, encode_json
from oneapi.relay.formats.media import InlineImage, image_url_of, inline_image

__all__ = ("OllamaChatStream", "chat_to_ollama", "embeddings_from_ollama", "embeddings_to_ollama",
           "ollama_to_chat", "ollama_usage")

VENDOR = "Ollama"
_UNSUPPORTED = ("n", "logprobs", "top_logprobs", "logit_bias", "audio", "modalities", "prediction",
                "web_search_options", "functions")
_OPTIONS = (("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k"), ("seed", "seed"),
            ("presence_penalty", "presence_penalty"), ("frequency_penalty", "frequency_penalty"))


def ollama_usage(body: Mapping[str, Any]) -> TokenUsage | None:
    if "prompt_eval_count" not in body and "eval_count" not in body:
        return None
    return TokenUsage(prompt_tokens=int(body.get("prompt_eval_count") or 0),
                      completion_tokens=int(body.get("eval_count") or 0))


def _message(message: Mapping[str, Any], images: Mapping[str, InlineImage]) -> dict[str, Any]:
    role = message.get("role")
    if role == "developer":
        role = "system"
    if role not in ("system", "user", "assistant", "tool"):
        raise InvalidRequest(f"unknown message role {role!r}", param="messages")
    converted: dict[str, Any] = {"role": role}
    content = message.get("content")
    if isinstance(content, list):
        texts: list[str] = []
        pictures: list[str] = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                texts.append(str(part.get("text") or ""))
            elif kind == "image_url":
                pictures.append(inline_image(image_url_of(part), images).data)
            else:
                raise unsupported_part(VENDOR, kind)
        converted["content"] = "\n".join(texts)
        if pictures:
            converted["images"] = pictures
    else:
        converted["content"] = content or ""
    if role == "assistant" and message.get("tool_calls"):
        converted["tool_calls"] = [{"function": {"name": (call.get("function") or {}).get("name") or "",
                                                 "arguments": parse_arguments((call.get("function") or {})
                                                                              .get("arguments"))}}
                                   for call in message["tool_calls"]]
    if role == "tool" and message.get("name"):
        converted["tool_name"] = message["name"]
    return converted


def chat_to_ollama(document: Mapping[str, Any], model: str,
                   images: Mapping[str, InlineImage] | None = None) -> dict[str, Any]:
    """An OpenAI chat request as an Ollama ``/api/chat`` request."""
    reject_unsupported(document, VENDOR, _UNSUPPORTED)
    messages = [_message(message, images or {}) for message in document.get("messages") or ()
                if isinstance(message, dict)]
    body: dict[str, Any] = {"model": model, "messages": messages, "stream": bool(document.get("stream"))}
    options = {target: document[source] for source, target in _OPTIONS if document.get(source) is not None}
    if limit := max_tokens_of(document):
        options["num_predict"] = limit
    if stops := stop_list(document.get("stop")):
        options["stop"] = stops
    if options:
        body["options"] = options
    response_format = document.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") not in (None, "text"):
        schema = (response_format.get("json_schema") or {}).get("schema")
        body["format"] = schema if response_format["type"] == "json_schema" and schema else "json"
    if document.get("reasoning_effort"):
        body["think"] = True
    tools = function_tools(document, VENDOR)
    if tools:
        if document.get("tool_choice") not in (None, "auto"):
            raise UnsupportedFeature(f"{VENDOR} does not support tool_choice other than 'auto'",
                                     param="tool_choice")
        body["tools"] = [{"type": "function", "function": {"name": tool.name, "description": tool.description,
                                                           "parameters": tool.parameters}} for tool in tools]
    return body


def _finish_reason(body: Mapping[str, Any], has_calls: bool) -> str:
    if has_calls:
        return "tool_calls"
    return "length" if body.get("done_reason") == "length" else "stop"


def _calls(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"id": new_call_id(), "type": "function",
             "function": {"name": (call.get("function") or {}).get("name") or "",
                          "arguments": encode_json((call.get("function") or {}).get("arguments") or {}).decode()}}
            for call in message.get("tool_calls") or ()]


def ollama_to_chat(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """An ``/api/chat`` answer (``stream: false``) as an OpenAI ``chat.completion``."""
    message = body.get("message") or {}
    calls = _calls(message)
    reply: dict[str, Any] = {"role": "assistant", "content": message.get("content") or ("" if not calls else None)}
    if message.get("thinking"):
        reply["reasoning_content"] = message["thinking"]
    if calls:
        reply["tool_calls"] = calls
    usage = ollama_usage(body)
    return chat_completion(f"chatcmpl-{new_call_id()[5:]}", str(body.get("model") or model), int(time.time()),
                           [{"index": 0, "message": reply, "logprobs": None,
                             "finish_reason": _finish_reason(body, bool(calls))}],
                           usage.openai() if usage else None)


class OllamaChatStream(VendorChatTranslator):
    """Ollama's NDJSON stream in, OpenAI chunks out."""

    def __init__(self, model: str, *, include_usage: bool) -> None:
        super().__init__(NDJSONDecoder(), model, include_usage=include_usage)
        self._calls = 0

    def _handle(self, line: Any) -> bytes:
        if self._ended or not isinstance(line, dict):
            return b""
        if line.get("error"):
            return self._fail(str(line["error"]))
        message = line.get("message") or {}
        out = [self._writer.reasoning(str(message.get("thinking") or "")),
               self._writer.text(str(message.get("content") or ""))]
        for call in _calls(message):
            out.append(self._writer.tool_call(self._calls, call_id=call["id"], name=call["function"]["name"],
                                              arguments=call["function"]["arguments"]))
            self._calls += 1
        if line.get("done"):
            self.usage = ollama_usage(line)
            out.append(self._writer.finish(_finish_reason(line, self._calls > 0)))
            out.append(self._end())
        return b"".join(out)


def embeddings_to_ollama(document: Mapping[str, Any], model: str) -> dict[str, Any]:
    inputs = document.get("input")
    if not (isinstance(inputs, str) or (isinstance(inputs, list) and all(isinstance(i, str) for i in inputs))):
        raise UnsupportedFeature(f"{VENDOR} embeddings take text input only (not token arrays)", param="input")
    body: dict[str, Any] = {"model": model, "input": inputs}
    if document.get("dimensions"):
        body["dimensions"] = document["dimensions"]
    return body


def embeddings_from_ollama(body: Mapping[str, Any], model: str) -> tuple[dict[str, Any], TokenUsage]:
    usage = TokenUsage(prompt_tokens=int(body.get("prompt_eval_count") or 0))
    data = [{"object": "embedding", "index": index, "embedding": vector}
            for index, vector in enumerate(body.get("embeddings") or ())]
    return ({"object": "list", "data": data, "model": str(body.get("model") or model),
             "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.prompt_tokens}}, usage)
