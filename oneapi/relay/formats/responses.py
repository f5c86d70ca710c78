"""The OpenAI Responses API (``POST /v1/responses``) served by a chat-completions upstream.

Channels that are not OpenAI speak chat completions (natively or through their
adapter), so a Responses request becomes a chat request: ``instructions`` and
``input`` items become messages, function tools and ``text.format`` carry over, and
the answer is rebuilt as a ``response`` object with ``message``/``function_call``/
``reasoning`` output items, or streamed as Responses events (``response.created`` …
``response.output_text.delta`` … ``response.completed``). The gateway keeps no state,
so ``previous_response_id`` and hosted tools are refused with a 400.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from oneapi.errors import InvalidRequest, UnsupportedFeature
from oneapi.relay.formats.events import ChatChunkTranslator, TokenUsage, sse

__all__ = ("ChatToResponsesStream", "chat_to_response", "responses_to_chat")


def _item_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _content_parts(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text") or ""})
        elif kind == "input_image":
            url = part.get("image_url")
            if not url:
                raise UnsupportedFeature("input_image by file_id needs an OpenAI channel", param="input")
            parts.append({"type": "image_url", "image_url": {"url": url, "detail": part.get("detail") or "auto"}})
        else:
            raise UnsupportedFeature(f"'{kind}' input parts need an OpenAI channel", param="input")
    if all(part["type"] == "text" for part in parts):
        return "\n".join(part["text"] for part in parts)
    return parts


def _input_messages(items: Any) -> list[dict[str, Any]]:
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    messages: list[dict[str, Any]] = []
    for item in items or ():
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind == "message":
            role = item.get("role") or "user"
            messages.append({"role": "system" if role == "developer" else role,
                             "content": _content_parts(item.get("content"))})
        elif kind == "function_call":
            call = {"id": item.get("call_id") or "", "type": "function",
                    "function": {"name": item.get("name") or "", "arguments": item.get("arguments") or "{}"}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append({"role": "tool", "tool_call_id": item.get("call_id") or "",
                             "content": output if isinstance(output, str) else _content_parts(output)})
        elif kind == "reasoning":
            continue  # the model's earlier reasoning; chat upstreams take none back
        else:
            raise UnsupportedFeature(f"'{kind}' input items need an OpenAI channel", param="input")
    return messages


def responses_to_chat(document: Mapping[str, Any]) -> dict[str, Any]:
    """A Responses API request as an OpenAI chat request."""
    if document.get("previous_response_id"):
        raise UnsupportedFeature("previous_response_id needs an OpenAI channel (this gateway stores no "
                                 "responses); send the whole conversation in input", param="previous_response_id")
    messages = _input_messages(document.get("input"))
    if instructions := document.get("instructions"):
        messages.insert(0, {"role": "system", "content": instructions})
    if not messages:
        raise InvalidRequest("input is empty", param="input")
    chat: dict[str, Any] = {"model": document.get("model"), "messages": messages}
    if document.get("max_output_tokens"):
        chat["max_tokens"] = document["max_output_tokens"]
    for name in ("temperature", "top_p", "user", "parallel_tool_calls", "top_logprobs"):
        if document.get(name) is not None:
            chat[name] = document[name]
    if effort := (document.get("reasoning") or {}).get("effort"):
        chat["reasoning_effort"] = effort
    text_format = (document.get("text") or {}).get("format") or {}
    if text_format.get("type") == "json_schema":
        chat["response_format"] = {"type": "json_schema", "json_schema": {
            key: text_format[key] for key in ("name", "schema", "strict", "description") if key in text_format}}
    elif text_format.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    tools = []
    for tool in document.get("tools") or ():
        if tool.get("type") != "function":
            raise UnsupportedFeature(f"the hosted tool {tool.get('type')!r} needs an OpenAI channel", param="tools")
        function = {"name": tool.get("name"), "description": tool.get("description") or "",
                    "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}
        if tool.get("strict") is not None:
            function["strict"] = tool["strict"]
        tools.append({"type": "function", "function": function})
    if tools:
        chat["tools"] = tools
        choice = document.get("tool_choice")
        if isinstance(choice, dict) and choice.get("type") == "function":
            chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
        elif choice in ("auto", "none", "required"):
            chat["tool_choice"] = choice
    if document.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _usage(usage: TokenUsage | None) -> dict[str, Any]:
    usage = usage or TokenUsage()
    return {"input_tokens": usage.prompt_tokens, "input_tokens_details": {"cached_tokens": usage.cached_tokens},
            "output_tokens": usage.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "total_tokens": usage.prompt_tokens + usage.completion_tokens}


def _message_item(text: str, item_id: str | None = None, status: str = "completed") -> dict[str, Any]:
    return {"type": "message", "id": item_id or _item_id("msg"), "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def _reasoning_item(text: str, item_id: str | None = None) -> dict[str, Any]:
    return {"type": "reasoning", "id": item_id or _item_id("rs"),
            "summary": [{"type": "summary_text", "text": text}]}


def _call_item(call_id: str, name: str, arguments: str, item_id: str | None = None,
               status: str = "completed") -> dict[str, Any]:
    return {"type": "function_call", "id": item_id or _item_id("fc"), "call_id": call_id, "name": name,
            "arguments": arguments, "status": status}


def _response(response_id: str, model: str, created: int, request: Mapping[str, Any], output: list[dict[str, Any]],
              status: str, usage: TokenUsage | None, finish: str | None = None) -> dict[str, Any]:
    return {"id": response_id, "object": "response", "created_at": created, "status": status, "model": model,
            "output": output, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if finish == "length" else None,
            "instructions": request.get("instructions"), "max_output_tokens": request.get("max_output_tokens"),
            "parallel_tool_calls": request.get("parallel_tool_calls", True),
            "temperature": request.get("temperature"), "top_p": request.get("top_p"),
            "tool_choice": request.get("tool_choice", "auto"), "tools": request.get("tools") or [],
            "text": request.get("text") or {"format": {"type": "text"}}, "metadata": request.get("metadata") or {},
            "usage": _usage(usage) if status != "in_progress" else None}


def _status(finish: str | None) -> str:
    return "incomplete" if finish in ("length", "content_filter") else "completed"


def chat_to_response(completion: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` as a Responses API ``response``."""
    choice = (completion.get("choices") or [{}])[0]
    reply = choice.get("message") or {}
    output: list[dict[str, Any]] = []
    if reply.get("reasoning_content"):
        output.append(_reasoning_item(reply["reasoning_content"]))
    if reply.get("content"):
        output.append(_message_item(reply["content"]))
    for call in reply.get("tool_calls") or ():
        function = call.get("function") or {}
        output.append(_call_item(call.get("id") or "", function.get("name") or "", function.get("arguments") or ""))
    finish = choice.get("finish_reason")
    return _response(_item_id("resp"), str(completion.get("model") or request.get("model") or ""),
                     int(completion.get("created") or time.time()), request, output, _status(finish),
                     TokenUsage.from_openai(completion.get("usage")), finish)


class ChatToResponsesStream(ChatChunkTranslator):
    """OpenAI chat chunks in, Responses API streaming events out."""

    def __init__(self, request: Mapping[str, Any]) -> None:
        super().__init__()
        self._request = request
        self._id = _item_id("resp")
        self._created = int(time.time())
        self._model = str(request.get("model") or "")
        self._sequence = 0
        self._output: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None  # the output item being streamed
        self._calls: dict[int, dict[str, Any]] = {}
        self._finish: str | None = None
        self._started = False

    def _event(self, kind: str, **fields: Any) -> bytes:
        self._sequence += 1
        return sse({"type": kind, "sequence_number": self._sequence, **fields}, kind)

    def _snapshot(self, status: str) -> dict[str, Any]:
        return _response(self._id, self._model, self._created, self._request, list(self._output), status,
                         self.usage, self._finish)

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        snapshot = self._snapshot("in_progress")
        return (self._event("response.created", response=snapshot)
                + self._event("response.in_progress", response=snapshot))

    def _close(self) -> bytes:
        item, self._open = self._open, None
        if item is None:
            return b""
        index = len(self._output)
        out = b""
        if item["type"] == "message":
            text = item["content"][0]["text"]
            part = {"type": "output_text", "text": text, "annotations": []}
            out += self._event("response.output_text.done", item_id=item["id"], output_index=index,
                               content_index=0, text=text)
            out += self._event("response.content_part.done", item_id=item["id"], output_index=index,
                               content_index=0, part=part)
        elif item["type"] == "reasoning":
            text = item["summary"][0]["text"]
            out += self._event("response.reasoning_summary_text.done", item_id=item["id"], output_index=index,
                               summary_index=0, text=text)
        elif item["type"] == "function_call":
            out += self._event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                               arguments=item["arguments"])
        if item["type"] == "reasoning":
            item.pop("status", None)
        else:
            item["status"] = "completed"
        self._output.append(item)
        return out + self._event("response.output_item.done", output_index=index, item=item)

    def _open_item(self, item: dict[str, Any]) -> bytes:
        out = self._close()
        self._open = item
        index = len(self._output)
        out += self._event("response.output_item.added", output_index=index, item=item)
        if item["type"] == "message":
            out += self._event("response.content_part.added", item_id=item["id"], output_index=index,
                               content_index=0, part={"type": "output_text", "text": "", "annotations": []})
        return out

    def _error(self, message: str) -> bytes:
        failed = self._snapshot("failed")
        failed["error"] = {"code": "server_error", "message": message}
        return self._start() + self._event("response.failed", response=failed)

    def _chunk(self, chunk: dict[str, Any]) -> bytes:
        out = [self._start()]
        if chunk.get("model"):
            self._model = str(chunk["model"])
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if reasoning := delta.get("reasoning_content"):
                out.append(self._reasoning_delta(reasoning))
            if text := delta.get("content"):
                out.append(self._text_delta(text))
            for call in delta.get("tool_calls") or ():
                out.append(self._call_delta(call))
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return b"".join(out)

    def _reasoning_delta(self, text: str) -> bytes:
        out = b""
        if self._open is None or self._open["type"] != "reasoning":
            out = self._open_item({"type": "reasoning", "id": _item_id("rs"), "summary": [], "status": "in_progress"})
            self._open["summary"] = [{"type": "summary_text", "text": ""}]
        self._open["summary"][0]["text"] += text
        self._text.append(text)
        return out + self._event("response.reasoning_summary_text.delta", item_id=self._open["id"],
                                 output_index=len(self._output), summary_index=0, delta=text)

    def _text_delta(self, text: str) -> bytes:
        out = b""
        if self._open is None or self._open["type"] != "message":
            item = _message_item("", status="in_progress")
            out = self._open_item(item)
        self._open["content"][0]["text"] += text
        self._text.append(text)
        return out + self._event("response.output_text.delta", item_id=self._open["id"],
                                 output_index=len(self._output), content_index=0, delta=text)

    def _call_delta(self, call: Mapping[str, Any]) -> bytes:
        position = int(call.get("index") or 0)
        function = call.get("function") or {}
        out = b""
        if position not in self._calls:
            item = _call_item(str(call.get("id") or _item_id("call")), str(function.get("name") or ""), "",
                              status="in_progress")
            out = self._open_item(item)
            self._calls[position] = item
        item = self._calls[position]
        arguments = str(function.get("arguments") or "")
        if not arguments:
            return out
        item["arguments"] += arguments
        self._text.append(arguments)
        return out + self._event("response.function_call_arguments.delta", item_id=item["id"],
                                 output_index=len(self._output), delta=arguments)

    def _end(self) -> bytes:
        self._ended = True
        out = self._start() + self._close()
        status = _status(self._finish)
        return out + self._event(f"response.{status}", response=self._snapshot(status))
