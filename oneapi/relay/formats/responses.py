"""The OpenAI Responses API (``POST /v1/responses``) served by a chat-completions upstream.

Channels that are not OpenAI speak chat completions (natively or through their
adapter), so a Responses request becomes a chat request: ``instructions`` and
``input`` items become messages, function tools and ``text.format`` carry over, and
the answer is rebuilt as a ``response`` object with ``message``/``function_call``/
``reasoning`` output items, or streamed as Responses events (``response.created`` …
``response.output_text.delta`` … ``response.completed``).

Tools other than plain functions:

* a ``namespace`` (Codex sends ``multi_agent_v1``) is only a group of functions: they
  become plain functions named ``<namespace>__<name>`` (kept unique and within 64
  characters), and a call of one comes back as ``{"name", "namespace"}`` again;
* ``web_search`` goes to the vendor's own search when the channel's adapter declares it
  (``Adapter.hosted_tools``: Anthropic's web-search server tool, Gemini's Google Search)
  as chat's ``web_search_options``; any other hosted tool, and web search on a vendor
  without one, is left out of the upstream request and named in
  :attr:`ResponsesChat.omitted`, which the relay reports in a response header and the
  log row, so a client that merely offers the tool keeps working.

State (``previous_response_id``, ``item_reference``) comes from
:mod:`oneapi.relay.responses_store`: :func:`stored_context` reads what a request refers
to, and the ids given here (``msg_<response hex>_<n>``) let a reference find its response.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oneapi.errors import InvalidRequest, NotFound, UnsupportedFeature
from oneapi.relay.formats.events import ChatChunkTranslator, TokenUsage, sse

if TYPE_CHECKING:
    from oneapi.relay.responses_store import ResponseStore

__all__ = ("ChatToResponsesStream", "ResponsesChat", "chat_to_response", "responses_to_chat",
           "stored_context")

_WEB_SEARCH = frozenset(("web_search", "web_search_preview", "web_search_2025_08_26",
                         "web_search_preview_2025_03_11"))
_NAME_LIMIT = 64  # OpenAI's and Anthropic's limit on a function name


@dataclass(slots=True)
class ResponsesChat:
    """A Responses request as a chat request, with what its answer needs to be rebuilt and stored."""

    request: Mapping[str, Any]  # the client's own document
    chat: dict[str, Any]
    items: list[dict[str, Any]]  # this request's own input items, references resolved, ids given
    response_id: str = field(default_factory=lambda: f"resp_{uuid.uuid4().hex}")
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # chat name -> (namespace, name)
    omitted: list[str] = field(default_factory=list)  # hosted tools left out upstream
    _items_made: int = 0

    def item_id(self, prefix: str) -> str:
        """An output item id naming this response (``oneapi.relay.responses_store.response_of_item``)."""
        self._items_made += 1
        return f"{prefix}_{self.response_id.removeprefix('resp_')}_{self._items_made}"

    def function_call(self, call_id: str, name: str, arguments: str, *, status: str = "completed",
                      item_id: str | None = None) -> dict[str, Any]:
        item = {"type": "function_call", "id": item_id or self.item_id("fc"), "call_id": call_id,
                "name": name, "arguments": arguments, "status": status}
        if name in self.names:
            item["namespace"], item["name"] = self.names[name]
        return item


def _own_items(document: Mapping[str, Any], references: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The request's input as items: a string is one user message, references are resolved."""
    given = document.get("input")
    if isinstance(given, str):
        return [{"type": "message", "id": f"msg_{uuid.uuid4().hex}", "role": "user",
                 "content": [{"type": "input_text", "text": given}]}]
    items: list[dict[str, Any]] = []
    for item in given or ():
        if not isinstance(item, dict):
            raise InvalidRequest("every input item must be an object", param="input")
        if item.get("type") == "item_reference":
            found = references.get(str(item.get("id")))
            if found is None:
                raise NotFound(f"Item with id '{item.get('id')}' not found.", param="input")
            items.append(found)
        else:
            items.append(item if item.get("id") else {**item, "id": f"item_{uuid.uuid4().hex}"})
    return items


async def stored_context(document: Mapping[str, Any], store: ResponseStore,
                         user_id: int) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The conversation ``previous_response_id`` names, and the items ``item_reference``s name.

    Raises:
        NotFound: an unknown (or another user's, or expired) response or item.
    """
    history = []
    if previous := document.get("previous_response_id"):
        history = await store.conversation(str(previous), user_id)
    references: dict[str, dict[str, Any]] = {}
    given = document.get("input")
    for item in given if isinstance(given, list) else ():
        if isinstance(item, dict) and item.get("type") == "item_reference":
            found = await store.item(str(item.get("id")), user_id)
            if found is not None:
                references[str(item["id"])] = found
    return history, references


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
            parts.append({"type": "image_url",
                          "image_url": {"url": url, "detail": part.get("detail") or "auto"}})
        else:
            raise UnsupportedFeature(f"'{kind}' input parts need an OpenAI channel", param="input")
    if all(part["type"] == "text" for part in parts):
        return "\n".join(part["text"] for part in parts)
    return parts


def _input_messages(items: list[dict[str, Any]],
                    chat_names: Mapping[tuple[str, str], str]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role") or "user"
            messages.append({"role": "system" if role == "developer" else role,
                             "content": _content_parts(item.get("content"))})
        elif kind == "function_call":
            name = str(item.get("name") or "")
            if namespace := item.get("namespace"):
                name = chat_names.get((str(namespace), name)) or _flat_name(str(namespace), name)
            call = {"id": item.get("call_id") or "", "type": "function",
                    "function": {"name": name, "arguments": item.get("arguments") or "{}"}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append({"role": "tool", "tool_call_id": item.get("call_id") or "",
                             "content": output if isinstance(output, str) else _content_parts(output)})
        elif kind in ("reasoning", "web_search_call"):
            continue  # the model's earlier reasoning or searches; chat upstreams take none back
        else:
            raise UnsupportedFeature(f"'{kind}' input items need an OpenAI channel", param="input")
    return messages


def _flat_name(namespace: str, name: str) -> str:
    flat = f"{namespace}__{name}"
    if len(flat) <= _NAME_LIMIT:
        return flat
    return f"{flat[:_NAME_LIMIT - 9]}_{hashlib.sha1(flat.encode()).hexdigest()[:8]}"


def _function(tool: Mapping[str, Any], name: str) -> dict[str, Any]:
    function = {"name": name, "description": tool.get("description") or "",
                "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}
    if tool.get("strict") is not None:
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _tools(conversion: ResponsesChat, hosted: Collection[str]) -> list[dict[str, Any]]:
    """Chat function tools for the request's tools; namespaces flattened, hosted ones mapped or left out."""
    tools: list[dict[str, Any]] = []
    given = conversion.request.get("tools") or ()
    taken = {str(tool.get("name")) for tool in given if tool.get("type") == "function"}
    for tool in given:
        kind = tool.get("type")
        if kind == "function":
            tools.append(_function(tool, str(tool.get("name") or "")))
        elif kind == "namespace":
            tools += _namespace_functions(conversion, tool, taken)
        elif kind in _WEB_SEARCH and "web_search" in hosted:
            conversion.chat["web_search_options"] = _web_search_options(tool)
        else:
            conversion.omitted.append(str(kind))
    return tools


def _namespace_functions(conversion: ResponsesChat, namespace_tool: Mapping[str, Any],
                         taken: set[str]) -> list[dict[str, Any]]:
    """A namespace's functions under flat names unique in ``taken``, mapped back in ``conversion.names``."""
    namespace = str(namespace_tool.get("name") or "")
    functions = []
    for member in namespace_tool.get("tools") or ():
        if member.get("type") != "function":
            conversion.omitted.append(f"{namespace}.{member.get('type')}")
            continue
        name = flat = _flat_name(namespace, str(member.get("name") or ""))
        suffix = 1
        while name in taken:
            suffix += 1
            name = f"{flat[:_NAME_LIMIT - 4]}_{suffix}"
        taken.add(name)
        conversion.names[name] = (namespace, str(member.get("name") or ""))
        functions.append(_function(member, name))
    return functions


def _web_search_options(tool: Mapping[str, Any]) -> dict[str, Any]:
    """The web-search tool's user location and allowed domains as chat's ``web_search_options``."""
    options: dict[str, Any] = {}
    if isinstance(tool.get("user_location"), dict):
        options["user_location"] = {"type": "approximate", "approximate": {
            key: value for key, value in tool["user_location"].items() if key != "type"}}
    if domains := (tool.get("filters") or {}).get("allowed_domains"):
        options["allowed_domains"] = domains
    return options


def responses_to_chat(document: Mapping[str, Any], *, history: list[dict[str, Any]] | None = None,
                      references: Mapping[str, dict[str, Any]] | None = None,
                      hosted: Collection[str] = ()) -> ResponsesChat:
    """A Responses API request as an OpenAI chat request.

    ``history`` and ``references`` come from :func:`stored_context`; ``hosted`` names the
    hosted tools the channel's vendor has (``Adapter.hosted_tools``).
    """
    if document.get("previous_response_id") and history is None:
        raise UnsupportedFeature("previous_response_id needs the response store",
                                 param="previous_response_id")
    conversion = ResponsesChat(document, {"model": document.get("model")},
                               _own_items(document, references or {}))
    chat = conversion.chat
    tools = _tools(conversion, hosted)
    chat_names = {original: name for name, original in conversion.names.items()}
    messages = _input_messages([*(history or ()), *conversion.items], chat_names)
    if instructions := document.get("instructions"):
        messages.insert(0, {"role": "system", "content": instructions})
    if not messages:
        raise InvalidRequest("input is empty", param="input")
    chat["messages"] = messages
    _sampling(document, chat)
    if tools:
        chat["tools"] = tools
        choice = _tool_choice(document.get("tool_choice"), chat_names)
        if choice is not None:
            chat["tool_choice"] = choice
    if document.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return conversion


def _sampling(document: Mapping[str, Any], chat: dict[str, Any]) -> None:
    """The output limit, sampling, reasoning effort and structured output, into ``chat``."""
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
            key: text_format[key] for key in ("name", "schema", "strict",
                                              "description") if key in text_format}}
    elif text_format.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}


def _tool_choice(choice: Any, chat_names: Mapping[tuple[str, str], str]) -> Any:
    """The ``tool_choice`` in chat's form (a namespaced function by its flat name); None: left out."""
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = str(choice.get("name"))
        if choice.get("namespace"):
            name = chat_names.get((str(choice["namespace"]), name), name)
        return {"type": "function", "function": {"name": name}}
    return choice if choice in ("auto", "none", "required") else None


def _usage(usage: TokenUsage | None) -> dict[str, Any]:
    usage = usage or TokenUsage()
    return {"input_tokens": usage.prompt_tokens,
            "input_tokens_details": {"cached_tokens": usage.cached_tokens},
            "output_tokens": usage.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "total_tokens": usage.prompt_tokens + usage.completion_tokens}


def _message_item(text: str, item_id: str, status: str = "completed") -> dict[str, Any]:
    return {"type": "message", "id": item_id, "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def _response(response_id: str, model: str, created: int, request: Mapping[str, Any],
              output: list[dict[str, Any]],
              status: str, usage: TokenUsage | None, finish: str | None = None) -> dict[str, Any]:
    return {"id": response_id, "object": "response", "created_at": created, "status": status, "model": model,
            "output": output, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if finish == "length" else None,
            "instructions": request.get("instructions"),
            "max_output_tokens": request.get("max_output_tokens"),
            "parallel_tool_calls": request.get("parallel_tool_calls", True),
            "temperature": request.get("temperature"), "top_p": request.get("top_p"),
            "tool_choice": request.get("tool_choice", "auto"), "tools": request.get("tools") or [],
            "text": request.get("text") or {"format": {"type": "text"}},
            "metadata": request.get("metadata") or {},
            "usage": _usage(usage) if status != "in_progress" else None}


def _status(finish: str | None) -> str:
    return "incomplete" if finish in ("length", "content_filter") else "completed"


def chat_to_response(completion: Mapping[str, Any], conversion: ResponsesChat) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` as a Responses API ``response``."""
    request = conversion.request
    choice = (completion.get("choices") or [{}])[0]
    reply = choice.get("message") or {}
    output: list[dict[str, Any]] = []
    if reply.get("reasoning_content"):
        output.append({"type": "reasoning", "id": conversion.item_id("rs"),
                       "summary": [{"type": "summary_text", "text": reply["reasoning_content"]}]})
    if reply.get("content"):
        output.append(_message_item(reply["content"], conversion.item_id("msg")))
    for call in reply.get("tool_calls") or ():
        function = call.get("function") or {}
        output.append(conversion.function_call(call.get("id") or "", function.get("name") or "",
                                               function.get("arguments") or ""))
    finish = choice.get("finish_reason")
    return _response(conversion.response_id, str(completion.get("model") or request.get("model") or ""),
                     int(completion.get("created") or time.time()), request, output, _status(finish),
                     TokenUsage.from_openai(completion.get("usage")), finish)


class ChatToResponsesStream(ChatChunkTranslator):
    """OpenAI chat chunks in, Responses API streaming events out.

    ``on_done`` gets the final ``response`` object when the stream completes (for the store).
    """

    def __init__(self, conversion: ResponsesChat,
                 on_done: Callable[[dict[str, Any]], None] | None = None) -> None:
        super().__init__()
        self._conversion = conversion
        self._on_done = on_done
        request = self._request = conversion.request
        self._id = conversion.response_id
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
            out += self._event("response.function_call_arguments.done", item_id=item["id"],
                               output_index=index,
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
        out, item = b"", self._open
        if item is None or item["type"] != "reasoning":
            item = {"type": "reasoning", "id": self._conversion.item_id("rs"), "summary": [],
                    "status": "in_progress"}
            out = self._open_item(item)
            item["summary"] = [{"type": "summary_text", "text": ""}]
        item["summary"][0]["text"] += text
        self._text.append(text)
        return out + self._event("response.reasoning_summary_text.delta", item_id=item["id"],
                                 output_index=len(self._output), summary_index=0, delta=text)

    def _text_delta(self, text: str) -> bytes:
        out, item = b"", self._open
        if item is None or item["type"] != "message":
            item = _message_item("", self._conversion.item_id("msg"), status="in_progress")
            out = self._open_item(item)
        item["content"][0]["text"] += text
        self._text.append(text)
        return out + self._event("response.output_text.delta", item_id=item["id"],
                                 output_index=len(self._output), content_index=0, delta=text)

    def _call_delta(self, call: Mapping[str, Any]) -> bytes:
        position = int(call.get("index") or 0)
        function = call.get("function") or {}
        out = b""
        if position not in self._calls:
            item = self._conversion.function_call(str(call.get("id") or f"call_{uuid.uuid4().hex}"),
                                                  str(function.get("name") or ""), "", status="in_progress")
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
        final = self._snapshot(status)
        if self._on_done is not None:
            self._on_done(final)
        return out + self._event(f"response.{status}", response=final)
