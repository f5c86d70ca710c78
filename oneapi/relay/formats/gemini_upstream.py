"""OpenAI chat completions ⇄ Gemini ``generateContent``, for Gemini channels.

Request: roles become ``user``/``model``, system messages ``systemInstruction``, images
and ``file`` parts (PDF) ``inlineData``, tools ``functionDeclarations`` (with JSON-Schema
keywords Gemini's OpenAPI subset rejects removed), tool results ``functionResponse``
parts (named after the call they answer), ``web_search_options`` Google Search
grounding, sampling fields ``generationConfig``, JSON mode
``responseMimeType``/``responseSchema``, ``reasoning_effort`` a thinking budget.

Response and stream: candidates → choices, ``functionCall`` parts → ``tool_calls`` with
generated ids, thought parts → ``reasoning_content``, and usage from ``usageMetadata``
(thought tokens are billed as completion tokens, as Google bills them).
Embeddings go through ``batchEmbedContents``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import msgspec

from oneapi.errors import InvalidRequest, UnsupportedFeature
from oneapi.relay.formats.chat import (
    chat_completion,
    content_text,
    function_tools,
    max_tokens_of,
    new_call_id,
    parse_arguments,
    reject_unsupported,
    stop_list,
    tool_choice_of,
    unsupported_part,
)
from oneapi.relay.formats.events import (
    SSEDecoder,
    SSEEvent,
    TokenUsage,
    VendorChatTranslator,
    decode_json,
    encode_json,
)
from oneapi.relay.formats.media import InlineImage, image_url_of, inline_file, inline_image

__all__ = (
    "GeminiChatStream",
    "chat_to_gemini",
    "embeddings_from_gemini",
    "embeddings_to_gemini",
    "gemini_finish_reason",
    "gemini_schema",
    "gemini_to_chat",
    "gemini_usage",
    "read_gemini_event",
)

VENDOR = "Gemini"
_UNSUPPORTED = ("logprobs", "top_logprobs", "logit_bias", "audio", "modalities", "prediction", "functions")
_THINKING_BUDGETS = {"minimal": 0, "low": 1024, "medium": 8192, "high": 24576}
_FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
           "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
           "IMAGE_SAFETY": "content_filter", "MALFORMED_FUNCTION_CALL": "stop", "LANGUAGE": "content_filter"}
# The OpenAPI-subset keywords Gemini accepts in a Schema; others ($schema, additionalProperties,
# strict, $defs, ...) make it answer 400.
_SCHEMA_KEYS = frozenset({"type", "format", "title", "description", "nullable", "enum", "maxItems",
                          "minItems",
                          "properties", "required", "minProperties", "maxProperties", "minLength",
                          "maxLength",
                          "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum",
                          "maximum"})


def gemini_schema(schema: Any) -> Any:
    """A JSON Schema reduced to the keywords Gemini's ``Schema`` understands."""
    if isinstance(schema, list):
        return [gemini_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _SCHEMA_KEYS:
            continue
        if key == "properties" and isinstance(value, dict):
            cleaned[key] = {name: gemini_schema(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf"):
            cleaned[key] = gemini_schema(value)
        elif key == "type" and isinstance(value, list):
            kinds = [kind for kind in value if kind != "null"]
            cleaned[key] = kinds[0] if kinds else "string"
            if "null" in value:
                cleaned["nullable"] = True
        else:
            cleaned[key] = value
    return cleaned


def gemini_finish_reason(reason: str | None, has_calls: bool) -> str | None:
    if not reason:
        return None
    mapped = _FINISH.get(reason, "stop")
    return "tool_calls" if has_calls and mapped == "stop" else mapped


def gemini_usage(metadata: Any) -> TokenUsage | None:
    if not isinstance(metadata, dict):
        return None
    thoughts = int(metadata.get("thoughtsTokenCount") or 0)
    return TokenUsage(prompt_tokens=int(metadata.get("promptTokenCount") or 0),
                      completion_tokens=int(metadata.get("candidatesTokenCount") or 0) + thoughts,
                      cached_tokens=int(metadata.get("cachedContentTokenCount") or 0),
                      reasoning_tokens=thoughts)


def read_gemini_event(response: Mapping[str, Any], usage: TokenUsage | None) -> tuple[TokenUsage | None, str]:
    """For a passed-through stream: the usage so far (each piece repeats the running totals)."""
    text = "".join(_read_parts((candidate.get("content") or {}).get("parts"))[0]
                   for candidate in response.get("candidates") or () if isinstance(candidate, dict))
    return gemini_usage(response.get("usageMetadata")) or usage, text


def _user_parts(content: Any, images: Mapping[str, InlineImage]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            parts.append({"text": part.get("text") or ""})
        elif kind == "image_url":
            image = inline_image(image_url_of(part), images)
            parts.append({"inlineData": {"mimeType": image.media_type, "data": image.data}})
        elif kind == "file":
            document = inline_file(part, VENDOR)
            parts.append({"inlineData": {"mimeType": document.media_type, "data": document.data}})
        else:
            raise unsupported_part(VENDOR, kind)
    return parts


def _tool_response(message: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    call_id = str(message.get("tool_call_id") or "")
    name = message.get("name") or names.get(call_id)
    if not name:
        raise InvalidRequest(f"the tool result {call_id!r} answers no earlier tool call", param="messages")
    text = content_text(message.get("content"))
    try:
        value = decode_json(text)
    except msgspec.DecodeError:
        value = None
    response = value if isinstance(value, dict) else {"content": value if value is not None else text}
    return {"functionResponse": {"name": name, "response": response}}


def _contents(messages: list[Any], images: Mapping[str, InlineImage]) -> tuple[list[dict[str, Any]],
                                                                               list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for message in messages:
        if not isinstance(message, dict):
            raise InvalidRequest("every message must be an object", param="messages")
        role = message.get("role")
        if role in ("system", "developer"):
            if text := content_text(message.get("content")):
                system.append({"text": text})
            continue
        if role == "user":
            parts, gemini_role = _user_parts(message.get("content"), images), "user"
        elif role == "assistant":
            gemini_role = "model"
            parts = [{"text": text}] if (text := content_text(message.get("content"))) else []
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                names[str(call.get("id") or "")] = str(function.get("name") or "")
                parts.append({"functionCall": {"name": function.get("name") or "",
                                               "args": parse_arguments(function.get("arguments"))}})
        elif role in ("tool", "function"):
            parts, gemini_role = [_tool_response(message, names)], "user"
        else:
            raise InvalidRequest(f"unknown message role {role!r}", param="messages")
        if not parts:
            continue
        if contents and contents[-1]["role"] == gemini_role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": gemini_role, "parts": parts})
    return system, contents


def _generation_config(document: Mapping[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for source, target in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK"),
                           ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty"),
                           ("seed", "seed")):
        if document.get(source) is not None:
            config[target] = document[source]
    if limit := max_tokens_of(document):
        config["maxOutputTokens"] = limit
    if stops := stop_list(document.get("stop")):
        config["stopSequences"] = stops
    if (count := document.get("n")) not in (None, 1):
        config["candidateCount"] = count
    response_format = document.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") not in (None, "text"):
        kind = response_format["type"]
        if kind not in ("json_object", "json_schema"):
            raise UnsupportedFeature(f"{VENDOR} does not support response_format {kind!r}",
                                     param="response_format")
        config["responseMimeType"] = "application/json"
        schema = (response_format.get("json_schema") or {}).get("schema")
        if kind == "json_schema" and isinstance(schema, dict):
            config["responseSchema"] = gemini_schema(schema)
    if effort := document.get("reasoning_effort"):
        if effort not in _THINKING_BUDGETS:
            raise InvalidRequest(f"unknown reasoning_effort {effort!r}", param="reasoning_effort")
        config["thinkingConfig"] = {"thinkingBudget": _THINKING_BUDGETS[effort],
                                    "includeThoughts": _THINKING_BUDGETS[effort] > 0}
    return config


def chat_to_gemini(document: Mapping[str, Any],
                   images: Mapping[str, InlineImage] | None = None) -> dict[str, Any]:
    """An OpenAI chat request as a Gemini ``GenerateContentRequest`` (the model goes in the URL)."""
    reject_unsupported(document, VENDOR, _UNSUPPORTED)
    system, contents = _contents(list(document.get("messages") or ()), images or {})
    if not contents:
        raise InvalidRequest(f"{VENDOR} needs at least one user or assistant message", param="messages")
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    if config := _generation_config(document):
        body["generationConfig"] = config
    tools = function_tools(document, VENDOR)
    if tools:
        declarations = []
        for tool in tools:
            declaration: dict[str, Any] = {"name": tool.name, "description": tool.description}
            if tool.parameters.get("properties"):
                declaration["parameters"] = gemini_schema(tool.parameters)
            declarations.append(declaration)
        body["tools"] = [{"functionDeclarations": declarations}]
        mode, name = tool_choice_of(document)
        calling: dict[str, Any] = {"mode": {"auto": "AUTO", "none": "NONE"}.get(mode, "ANY")}
        if name:
            calling["allowedFunctionNames"] = [name]
        body["toolConfig"] = {"functionCallingConfig": calling}
    if isinstance(document.get("web_search_options"), dict):  # Google Search grounding
        body.setdefault("tools", []).append({"googleSearch": {}})
    return body


class _Candidate:
    """What one candidate has said so far: needed to number tool calls across chunks."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls = 0


def _read_parts(parts: Any) -> tuple[str, str, list[tuple[str, Any]]]:
    text: list[str] = []
    thoughts: list[str] = []
    calls: list[tuple[str, Any]] = []
    for part in parts or ():
        if not isinstance(part, dict):
            continue
        if "functionCall" in part:
            call = part["functionCall"] or {}
            calls.append((str(call.get("name") or ""), call.get("args") or {}))
        elif isinstance(part.get("text"), str):
            (thoughts if part.get("thought") else text).append(part["text"])
    return "".join(text), "".join(thoughts), calls


def gemini_to_chat(response: Mapping[str, Any], model: str) -> dict[str, Any]:
    """A ``GenerateContentResponse`` as an OpenAI ``chat.completion``."""
    choices: list[dict[str, Any]] = []
    for position, candidate in enumerate(response.get("candidates") or ()):
        text, thoughts, calls = _read_parts((candidate.get("content") or {}).get("parts"))
        message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
        if thoughts:
            message["reasoning_content"] = thoughts
        if calls:
            message["tool_calls"] = [{"id": new_call_id(), "type": "function",
                                      "function": {"name": name, "arguments": encode_json(args).decode()}}
                                     for name, args in calls]
        finish = gemini_finish_reason(candidate.get("finishReason") or "STOP", bool(calls))
        choices.append({"index": candidate.get("index", position), "message": message, "logprobs": None,
                        "finish_reason": finish})
    if not choices:
        blocked = (response.get("promptFeedback") or {}).get("blockReason")
        choices.append({"index": 0, "message": {"role": "assistant", "content": ""}, "logprobs": None,
                        "finish_reason": "content_filter" if blocked else "stop"})
    usage = gemini_usage(response.get("usageMetadata"))
    return chat_completion(f"chatcmpl-{response.get('responseId') or new_call_id()[5:]}",
                           str(response.get("modelVersion") or model), int(time.time()), choices,
                           usage.openai() if usage else None)


class GeminiChatStream(VendorChatTranslator):
    """Gemini's ``streamGenerateContent?alt=sse`` events in, OpenAI chunks out."""

    def __init__(self, model: str, *, include_usage: bool) -> None:
        super().__init__(SSEDecoder(), model, include_usage=include_usage)
        self._candidates: dict[int, _Candidate] = {}

    def _handle(self, event: SSEEvent) -> bytes:
        payload = event.data
        if self._ended or not payload.strip():
            return b""
        try:
            response = decode_json(payload)
        except msgspec.DecodeError:
            return b""
        if not isinstance(response, dict):
            return b""
        if "error" in response:
            error = response.get("error") or {}
            return self._fail(str(error.get("message") or "the upstream stream failed"),
                              str(error.get("status") or "upstream_error"))
        if usage := gemini_usage(response.get("usageMetadata")):
            self.usage = usage
        out: list[bytes] = []
        for position, candidate in enumerate(response.get("candidates") or ()):
            index = int(candidate.get("index", position))
            state = self._candidates.setdefault(index, _Candidate())
            text, thoughts, calls = _read_parts((candidate.get("content") or {}).get("parts"))
            out.append(self._writer.reasoning(thoughts, index=index))
            out.append(self._writer.text(text, index=index))
            for name, args in calls:
                out.append(self._writer.tool_call(state.calls, call_id=new_call_id(), name=name,
                                                  arguments=encode_json(args).decode(), index=index))
                state.calls += 1
            reason = gemini_finish_reason(candidate.get("finishReason"), state.calls > 0)
            if reason:
                out.append(self._writer.finish(reason, index=index))
        return b"".join(out)


def embeddings_to_gemini(document: Mapping[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI embeddings request as ``batchEmbedContents``."""
    inputs = document.get("input")
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
        raise UnsupportedFeature(f"{VENDOR} embeddings take text input only (not token arrays)",
                                 param="input")
    request: dict[str, Any] = {"model": f"models/{model}"}
    if document.get("dimensions"):
        request["outputDimensionality"] = document["dimensions"]
    return {"requests": [{**request, "content": {"parts": [{"text": text}]}} for text in texts]}


def embeddings_from_gemini(response: Mapping[str, Any], model: str) -> dict[str, Any]:
    """``batchEmbedContents``' answer as an OpenAI embedding list (usage is counted by the caller)."""
    data = [{"object": "embedding", "index": index, "embedding": list(item.get("values") or ())}
            for index, item in enumerate(response.get("embeddings") or ())]
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}
