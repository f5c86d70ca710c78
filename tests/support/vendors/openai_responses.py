"""OpenAI's Responses API (``POST /v1/responses``) played on 127.0.0.1, strict and scripted.

Strict like the real API: a missing bearer key is a 401, an unknown top-level parameter,
an unknown input item or tool type is a 400 in OpenAI's error shape. Scripted for agent
round trips: while the input holds no ``function_call_output``, the model calls the tool
named by :attr:`ResponsesUpstream.tool` (the first function tool when empty, a tool inside
a ``namespace`` included) with :attr:`ResponsesUpstream.arguments`; once a result came back
it answers ``The tool said: <output>``. Streams use the full event sequence (``response.created``
… ``response.output_item.done`` … ``response.completed``) that Codex reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.upstreams import UpstreamServer

__all__ = ("ResponsesUpstream",)

_PARAMETERS = frozenset((
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "stream", "store",
    "reasoning", "include", "prompt_cache_key", "text", "temperature", "top_p", "max_output_tokens",
    "metadata", "previous_response_id", "service_tier", "truncation", "user", "background",
    "stream_options", "top_logprobs", "safety_identifier", "prompt_cache_retention", "client_metadata",
    "context_management", "conversation", "max_tool_calls", "prompt"))
_ITEMS = frozenset(("message", "function_call", "function_call_output", "reasoning", "item_reference",
                    "custom_tool_call", "custom_tool_call_output", "web_search_call", "local_shell_call",
                    "local_shell_call_output", "compaction"))
_TOOLS = frozenset(("function", "namespace", "web_search", "web_search_preview", "file_search", "custom",
                    "local_shell", "image_generation", "code_interpreter", "mcp", "computer_use_preview"))


def _error(status: int, message: str, param: str | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                        "code": None}}, status=status)


def _functions(tools: list[dict[str, Any]], namespace: str = "") -> dict[str, str]:
    """Function name -> the namespace it was offered in ("" for none), in offered order."""
    names: dict[str, str] = {}
    for tool in tools:
        if tool.get("type") == "function":
            names[tool["name"]] = namespace
        elif tool.get("type") == "namespace":
            names.update(_functions(tool.get("tools") or [], tool["name"]))
    return names


@dataclass
class ResponsesUpstream(UpstreamServer):
    name: str = "responses"
    tool: str = ""  # the function the model calls first; "" = the first one offered
    arguments: dict[str, Any] = field(default_factory=lambda: {"city": "Paris"})
    preamble: str = ""  # text the model says before its tool call ("" = none)
    output_tokens: int = 9

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/responses", self.responses)]

    def _invalid(self, body: Any) -> web.Response | None:
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        for name in body:
            if name not in _PARAMETERS:
                return _error(400, f"Unknown parameter: '{name}'.", name)
        if not isinstance(body.get("model"), str):
            return _error(400, "Missing required parameter: 'model'.", "model")
        items = body.get("input")
        for index, item in enumerate(items if isinstance(items, list) else []):
            if item.get("type", "message") not in _ITEMS:
                return _error(400, f"Invalid value: '{item.get('type')}'.", f"input[{index}].type")
        for index, tool in enumerate(body.get("tools") or []):
            if tool.get("type") not in _TOOLS:
                return _error(400, f"Invalid value: '{tool.get('type')}'.", f"tools[{index}].type")
        return None

    def output(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The output items the mock model answers ``body`` with."""
        items = body["input"] if isinstance(body["input"], list) else []
        results = [item for item in items if item.get("type") == "function_call_output"]
        if results:
            output = results[-1]["output"]
            text = output if isinstance(output, str) else "".join(part.get("text", "") for part in output)
            return [self._message("msg_mock2", f"The tool said: {text}")]
        functions = _functions(body.get("tools") or [])
        if functions:
            name = self.tool or next(iter(functions))
            call = {"type": "function_call", "id": "fc_mock1", "call_id": "call_mock1", "name": name,
                    "arguments": json.dumps(self.arguments), "status": "completed"}
            said = [self._message("msg_mock0", self.preamble)] if self.preamble else []
            return [*said, {**call, "namespace": functions[name]} if functions.get(name) else call]
        return [self._message("msg_mock1", "Hello from the Responses API.")]

    @staticmethod
    def _message(item_id: str, text: str) -> dict[str, Any]:
        return {"type": "message", "id": item_id, "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}

    async def responses(self, request: web.Request) -> web.StreamResponse:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(401, "You didn't provide an API key.")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        if (invalid := self._invalid(body)) is not None:
            return invalid
        output = self.output(body)
        usage = {"input_tokens": self.prompt_tokens, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": self.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": self.prompt_tokens + self.output_tokens}
        response = {"id": f"resp_mock{len(self.received)}", "object": "response", "created_at": 1700000000,
                    "status": "completed", "model": body["model"], "output": output, "usage": usage,
                    "error": None, "incomplete_details": None, "tools": body.get("tools") or []}
        if not body.get("stream"):
            return web.json_response(response)
        started = {**response, "status": "in_progress", "output": [], "usage": None}
        events: list[dict[str, Any]] = [{"type": "response.created", "response": started},
                                        {"type": "response.in_progress", "response": started}]
        for index, item in enumerate(output):
            events.append({"type": "response.output_item.added", "output_index": index,
                           "item": {**item, "status": "in_progress"}})
            if item["type"] == "message":
                text = item["content"][0]["text"]
                events.append({"type": "response.output_text.delta", "item_id": item["id"],
                               "output_index": index, "content_index": 0, "delta": text})
                events.append({"type": "response.output_text.done", "item_id": item["id"],
                               "output_index": index, "content_index": 0, "text": text})
            else:
                events.append({"type": "response.function_call_arguments.delta", "item_id": item["id"],
                               "output_index": index, "delta": item["arguments"]})
            events.append({"type": "response.output_item.done", "output_index": index, "item": item})
        events.append({"type": "response.completed", "response": response})
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await stream.prepare(request)
        for number, event in enumerate(events):
            event["sequence_number"] = number
            await stream.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
        await stream.write_eof()
        return stream
