"""OpenAI chat completions ⇄ Anthropic Messages, for Anthropic channels.

Request: system and developer messages become the top-level ``system``; tool results
become ``tool_result`` blocks in a user turn; assistant tool calls become ``tool_use``
blocks; consecutive turns of one role are merged because Anthropic requires user and
assistant to alternate. ``response_format`` is served with a forced tool whose input is
the JSON answer, turned back into plain text in the response; ``reasoning_effort``
becomes an extended-thinking budget; ``web_search_options`` the web-search server tool;
``file`` parts (PDF) ``document`` blocks.

Response and stream: text, ``tool_use`` → ``tool_calls``, ``thinking`` →
``reasoning_content``, stop reasons, and usage including cache reads and writes
(OpenAI's ``prompt_tokens`` counts cached tokens too, so they are added back).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from oneapi.errors import InvalidRequest, UnsupportedFeature
from oneapi.relay.formats.chat import (
    chat_completion,
    content_text,
    function_tools,
    max_tokens_of,
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
    "ANTHROPIC_VERSION",
    "DEFAULT_MAX_TOKENS",
    "AnthropicChatStream",
    "AnthropicRequest",
    "anthropic_event_usage",
    "anthropic_finish_reason",
    "anthropic_usage",
    "chat_to_anthropic",
    "message_to_chat",
    "needs_json_tool",
    "read_anthropic_event",
)

VENDOR = "Anthropic"
ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
JSON_TOOL = "json_response"
_THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}


def reasoning_effort_for(budget_tokens: int) -> str:
    """The OpenAI ``reasoning_effort`` closest to an Anthropic thinking budget."""
    if budget_tokens >= _THINKING_BUDGETS["high"]:
        return "high"
    return "medium" if budget_tokens >= _THINKING_BUDGETS["medium"] else "low"

_UNSUPPORTED = ("n", "logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty",
                "seed", "audio", "modalities", "prediction", "functions")
WEB_SEARCH_TOOL = "web_search_20250305"  # Anthropic's web-search server tool, for web_search_options
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
           "model_context_window_exceeded": "length", "tool_use": "tool_calls", "refusal": "content_filter"}


@dataclass(frozen=True, slots=True)
class AnthropicRequest:
    """The converted body, and whether answers must be unwrapped from the JSON tool."""

    body: dict[str, Any]
    json_tool: bool = False


def anthropic_finish_reason(stop_reason: str | None) -> str | None:
    return _FINISH.get(stop_reason or "", "stop") if stop_reason else None


def anthropic_usage(usage: Any) -> TokenUsage:
    """Anthropic's usage in OpenAI's terms; ``input_tokens`` excludes cache reads and writes."""
    usage = usage if isinstance(usage, dict) else {}
    cache_read = int(usage.get("cache_read_input_tokens") or 0)
    cache_write = int(usage.get("cache_creation_input_tokens") or 0)
    return TokenUsage(prompt_tokens=int(usage.get("input_tokens") or 0) + cache_read + cache_write,
                      completion_tokens=int(usage.get("output_tokens") or 0),
                      cached_tokens=cache_read, cache_write_tokens=cache_write)


def anthropic_event_usage(event: Mapping[str, Any], usage: TokenUsage | None) -> TokenUsage | None:
    """Usage after a stream event: ``message_start`` gives input, ``message_delta`` running totals."""
    kind = event.get("type")
    if kind == "message_start":
        return anthropic_usage((event.get("message") or {}).get("usage"))
    if kind != "message_delta" or not isinstance(event.get("usage"), dict):
        return usage
    delta = event["usage"]
    current = usage or TokenUsage()
    if any(delta.get(name) is not None
           for name in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")):
        fresh = anthropic_usage(delta)
        current.prompt_tokens, current.cached_tokens = fresh.prompt_tokens, fresh.cached_tokens
        current.cache_write_tokens = fresh.cache_write_tokens
    if delta.get("output_tokens") is not None:
        current.completion_tokens = int(delta["output_tokens"])
    return current


def read_anthropic_event(event: Mapping[str, Any], usage: TokenUsage | None) -> tuple[TokenUsage | None, str]:
    """For a passed-through stream: the usage so far and the event's generated text."""
    delta = event.get("delta") or {}
    text = delta.get("text") or delta.get("thinking") or delta.get("partial_json") or ""
    return anthropic_event_usage(event,
                                 usage), str(text) if event.get("type") == "content_block_delta" else ""


def _user_blocks(content: Any, images: Mapping[str, InlineImage]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            blocks.append({"type": "text", "text": part.get("text") or ""})
        elif kind == "image_url":
            image = inline_image(image_url_of(part), images)
            blocks.append({"type": "image", "source": {"type": "base64", "media_type": image.media_type,
                                                       "data": image.data}})
        elif kind == "file":
            document = inline_file(part, VENDOR)
            blocks.append({"type": "document", "source": {"type": "base64", "media_type": document.media_type,
                                                          "data": document.data}})
        else:
            raise unsupported_part(VENDOR, kind)
    return blocks


def _assistant_blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    text = content_text(message.get("content"))
    if text:
        blocks.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        blocks.append({"type": "tool_use", "id": call.get("id") or "", "name": function.get("name") or "",
                       "input": parse_arguments(function.get("arguments"))})
    return blocks


def _tool_result(message: Mapping[str, Any], images: Mapping[str, InlineImage]) -> dict[str, Any]:
    content = message.get("content")
    result = content if isinstance(content, str) else _user_blocks(content, images)
    return {"type": "tool_result", "tool_use_id": message.get("tool_call_id") or "", "content": result}


def _messages(messages: list[Any], images: Mapping[str, InlineImage]) -> tuple[list[dict[str, Any]],
                                                                               list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict):
            raise InvalidRequest("every message must be an object", param="messages")
        role = message.get("role")
        if role in ("system", "developer"):
            text = content_text(message.get("content"))
            if text:
                system.append({"type": "text", "text": text})
            continue
        if role == "user":
            blocks, turn_role = _user_blocks(message.get("content"), images), "user"
        elif role == "assistant":
            blocks, turn_role = _assistant_blocks(message), "assistant"
        elif role in ("tool", "function"):
            blocks, turn_role = [_tool_result(message, images)], "user"
        else:
            raise InvalidRequest(f"unknown message role {role!r}", param="messages")
        if not blocks:
            continue
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": turn_role, "content": blocks})
    return system, turns


def _json_schema_of(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict) or response_format.get("type") in (None, "text"):
        return None
    kind = response_format["type"]
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    raise UnsupportedFeature(f"{VENDOR} does not support response_format {kind!r}", param="response_format")


def needs_json_tool(document: Mapping[str, Any]) -> bool:
    """Whether the request's ``response_format`` is served with the forced JSON tool."""
    return _json_schema_of(document.get("response_format")) is not None


def _web_search_tool(options: Mapping[str, Any]) -> dict[str, Any]:
    """Chat's ``web_search_options`` as Anthropic's web-search server tool."""
    tool: dict[str, Any] = {"type": WEB_SEARCH_TOOL, "name": "web_search"}
    location = (options.get("user_location") or {}).get("approximate")
    if isinstance(location, dict) and location:
        tool["user_location"] = {"type": "approximate", **location}
    if options.get("allowed_domains"):
        tool["allowed_domains"] = list(options["allowed_domains"])
    return tool


def chat_to_anthropic(document: Mapping[str, Any], model: str,
                      images: Mapping[str, InlineImage] | None = None) -> AnthropicRequest:
    """An OpenAI chat request as an Anthropic Messages request.

    Raises:
        UnsupportedFeature: a parameter Anthropic cannot honour (``n``, ``logprobs``, ...).
        InvalidRequest: a malformed message.
    """
    reject_unsupported(document, VENDOR, _UNSUPPORTED)
    system, turns = _messages(list(document.get("messages") or ()), images or {})
    if not turns:
        raise InvalidRequest(f"{VENDOR} needs at least one user or assistant message", param="messages")
    body: dict[str, Any] = {"model": model, "messages": turns,
                            "max_tokens": max_tokens_of(document) or DEFAULT_MAX_TOKENS}
    if system:
        body["system"] = system
    _sampling(document, body)
    tools = [{"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
             for tool in function_tools(document, VENDOR)]
    mode, name = tool_choice_of(document)
    schema = _json_schema_of(document.get("response_format"))
    if schema is not None:
        if tools:
            raise UnsupportedFeature(f"{VENDOR} cannot combine response_format with tools",
                                     param="response_format")
        body["tools"] = [{"name": JSON_TOOL, "description": "Give the answer as this JSON value.",
                          "input_schema": schema}]
        body["tool_choice"] = {"type": "tool", "name": JSON_TOOL}
        return AnthropicRequest(body, json_tool=True)
    if isinstance(search := document.get("web_search_options"), dict):
        tools.append(_web_search_tool(search))
    if tools:
        body["tools"] = tools
        parallel = document.get("parallel_tool_calls") is not False
        body["tool_choice"] = _tool_choice(mode, name, parallel=parallel)
    return AnthropicRequest(body)


def _sampling(document: Mapping[str, Any], body: dict[str, Any]) -> None:
    """Sampling, stop sequences, streaming, the end user and extended thinking, into ``body``."""
    for field in ("temperature", "top_p", "top_k"):
        if document.get(field) is not None:
            body[field] = document[field]
    if stops := stop_list(document.get("stop")):
        body["stop_sequences"] = stops
    if document.get("stream"):
        body["stream"] = True
    if isinstance(document.get("user"), str):
        body["metadata"] = {"user_id": document["user"]}
    if isinstance(document.get("thinking"), dict):
        body["thinking"] = document["thinking"]
    elif effort := document.get("reasoning_effort"):
        budget = _THINKING_BUDGETS.get(str(effort))
        if budget is None:
            raise InvalidRequest(f"unknown reasoning_effort {effort!r}", param="reasoning_effort")
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        if body["max_tokens"] <= budget:
            body["max_tokens"] = budget + DEFAULT_MAX_TOKENS


def _tool_choice(mode: str, name: str | None, *, parallel: bool) -> dict[str, Any]:
    """Chat's ``tool_choice`` mode (or a named function) as Anthropic's."""
    choice: dict[str, Any] = {"auto": {"type": "auto"}, "none": {"type": "none"},
                              "required": {"type": "any"}}.get(mode) or {"type": "tool", "name": name}
    if not parallel and choice["type"] != "none":
        choice["disable_parallel_tool_use"] = True
    return choice


def message_to_chat(message: Mapping[str, Any], *, json_tool: bool = False) -> dict[str, Any]:
    """An Anthropic Messages response as an OpenAI ``chat.completion``."""
    reply = _reply(message.get("content") or (), json_tool=json_tool)
    finish = anthropic_finish_reason(message.get("stop_reason")) or "stop"
    if json_tool and finish == "tool_calls":
        finish = "stop"
    usage = anthropic_usage(message.get("usage"))
    return chat_completion(f"chatcmpl-{message.get('id', '')}", str(message.get("model") or ""),
                           int(time.time()),
                           [{"index": 0, "message": reply, "logprobs": None, "finish_reason": finish}],
                           usage.openai())


def _reply(blocks: Any, *, json_tool: bool) -> dict[str, Any]:
    """The content blocks as a chat assistant message: text, reasoning and tool calls (the
    JSON tool's input, standing for ``response_format``, as text)."""
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text") or "")
        elif kind == "thinking":
            reasoning.append(block.get("thinking") or "")
        elif kind == "tool_use" and json_tool and block.get("name") == JSON_TOOL:
            text.append(encode_json(block.get("input") or {}).decode())
        elif kind == "tool_use":
            calls.append({"id": block.get("id"), "type": "function",
                          "function": {"name": block.get("name"),
                                       "arguments": encode_json(block.get("input") or {}).decode()}})
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if reasoning:
        reply["reasoning_content"] = "".join(reasoning)
    if calls:
        reply["tool_calls"] = calls
    return reply


class AnthropicChatStream(VendorChatTranslator):
    """Anthropic's SSE events in, OpenAI ``chat.completion.chunk`` events out."""

    def __init__(self, model: str, *, include_usage: bool, json_tool: bool = False) -> None:
        super().__init__(SSEDecoder(), model, include_usage=include_usage)
        self._json_tool = json_tool
        self._blocks: dict[int, tuple[str, int]] = {}  # block index -> (kind, tool call position)
        self._calls = 0
        self._finished = False

    def _handle(self, event: SSEEvent) -> bytes:
        payload = event.data
        if self._ended or not payload:
            return b""
        try:
            data = decode_json(payload)
        except msgspec.DecodeError:
            return b""
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "message_start":
            return self._message_start(data)
        if kind == "content_block_start":
            return self._start_block(int(data.get("index") or 0), data.get("content_block") or {})
        if kind == "content_block_delta":
            return self._delta(int(data.get("index") or 0), data.get("delta") or {})
        if kind == "message_delta":
            return self._message_delta(data)
        if kind == "message_stop":
            prefix = b"" if self._finished else self._writer.finish("stop")
            return prefix + self._end()
        if kind == "error":
            error = data.get("error") or {}
            return self._fail(str(error.get("message") or "the upstream stream failed"),
                              str(error.get("type") or "upstream_error"))
        return b""  # ping, content_block_stop and event types added later

    def _message_start(self, data: Mapping[str, Any]) -> bytes:
        message = data.get("message") or {}
        writer = self._writer
        writer.id = f"chatcmpl-{message.get('id', '')}"
        writer.model = message.get("model") or writer.model
        self.usage = anthropic_event_usage(data, self.usage)
        return writer.delta({"content": ""})

    def _message_delta(self, data: Mapping[str, Any]) -> bytes:
        """The usage so far, and the finish reason once the message has one."""
        self.usage = anthropic_event_usage(data, self.usage)
        reason = anthropic_finish_reason((data.get("delta") or {}).get("stop_reason"))
        if reason is None:
            return b""
        if self._json_tool and reason == "tool_calls":
            reason = "stop"
        self._finished = True
        return self._writer.finish(reason)

    def _start_block(self, index: int, block: Mapping[str, Any]) -> bytes:
        kind = str(block.get("type") or "")
        if kind == "tool_use" and not (self._json_tool and block.get("name") == JSON_TOOL):
            position = self._calls
            self._calls += 1
            self._blocks[index] = ("tool_use", position)
            return self._writer.tool_call(position, call_id=str(block.get("id") or ""),
                                          name=str(block.get("name") or ""))
        self._blocks[index] = ("json" if kind == "tool_use" else kind, -1)
        if kind == "text":
            return self._writer.text(str(block.get("text") or ""))
        if kind == "thinking":
            return self._writer.reasoning(str(block.get("thinking") or ""))
        return b""

    def _delta(self, index: int, delta: Mapping[str, Any]) -> bytes:
        kind = delta.get("type")
        block, position = self._blocks.get(index, ("", -1))
        if kind == "text_delta":
            return self._writer.text(str(delta.get("text") or ""))
        if kind == "thinking_delta":
            return self._writer.reasoning(str(delta.get("thinking") or ""))
        if kind == "input_json_delta":
            fragment = str(delta.get("partial_json") or "")
            if block == "json":
                return self._writer.text(fragment)
            if block == "tool_use" and fragment:
                return self._writer.tool_call(position, arguments=fragment)
        return b""  # signature_delta, citations_delta: nothing in OpenAI's shape carries them

