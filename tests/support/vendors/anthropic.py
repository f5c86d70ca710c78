"""Anthropic's Messages API played on 127.0.0.1, in its documented wire format.

Answers depend on the request, so tests see real conversions: with ``tools`` the model
calls the tool named by ``tool`` (default: the first custom tool) with ``tool_input``
(default :data:`TOOL_INPUT`); after a ``tool_result`` it answers
with the result's text; with an image it says so; otherwise it replies
:data:`REPLY`. Streams use the full event sequence (``message_start``, ``ping``, content
blocks with ``text_delta``/``input_json_delta``, ``message_delta``, ``message_stop``).
Errors use Anthropic's ``{"type": "error", "error": {...}}`` body. Strict as the API is
about tools: a custom tool needs a valid ``name`` and an ``input_schema``, a server tool a
known ``type``, and a ``tool_result`` must answer a ``tool_use`` of the turn before.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.upstreams import UpstreamServer

__all__ = ("CACHE_READ", "REPLY", "TOOL_INPUT", "AnthropicUpstream")

REPLY = "Hello from Claude."
TOOL_INPUT = {"city": "Paris"}
CACHE_READ = 5
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
SERVER_TOOLS = frozenset(("web_search_20250305", "web_fetch_20250910", "code_execution_20250825",
                          "bash_20250124", "text_editor_20250728", "memory_20250818"))
_ERRORS = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error",
           500: "api_error", 529: "overloaded_error"}


@dataclass
class AnthropicUpstream(UpstreamServer):
    name: str = "anthropic"
    output_tokens: int = 7
    tool: str = ""  # the tool the model calls; "" = the first custom tool
    tool_input: dict[str, Any] = field(default_factory=lambda: dict(TOOL_INPUT))

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/messages", self.messages),
                web.post("/v1/messages/count_tokens", self.count_tokens),
                web.get("/v1/models", self.models)]

    async def _failure(self, request: web.Request) -> web.StreamResponse | None:
        if self.mode == "hang":
            return await super()._failure(request)
        if self.mode.isdigit():
            status = int(self.mode)
            return web.json_response({"type": "error", "error": {"type": _ERRORS.get(status, "api_error"),
                                                                 "message": f"{self.name} says {status}"}},
                                     status=status)
        return None

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if not request.headers.get("x-api-key") or not request.headers.get("anthropic-version"):
            return web.json_response({"type": "error", "error": {"type": "authentication_error",
                                                                 "message": "x-api-key header is required"}},
                                     status=401)
        return None

    def usage(self) -> dict[str, int]:
        return {"input_tokens": self.prompt_tokens, "output_tokens": self.output_tokens,
                "cache_read_input_tokens": CACHE_READ, "cache_creation_input_tokens": 0}

    @staticmethod
    def invalid(body: dict[str, Any]) -> str | None:
        """Anthropic's complaint about ``body``'s tools and tool results, if any."""
        for index, tool in enumerate(body.get("tools") or ()):
            kind = tool.get("type", "custom")
            if kind != "custom" and kind not in SERVER_TOOLS:
                return f"tools.{index}: Input tag '{kind}' found using 'type' does not match the expected tags"
            if kind == "custom" and (not _TOOL_NAME.match(str(tool.get("name"))) or
                                     not isinstance(tool.get("input_schema"), dict)):
                return f"tools.{index}: a custom tool needs a valid name and an input_schema"
        previous: list[Any] = []
        for index, message in enumerate(body["messages"]):
            blocks = message["content"] if isinstance(message["content"], list) else []
            used = {block.get("id") for block in previous if block.get("type") == "tool_use"}
            for block in blocks:
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in used:
                    return (f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` "
                            "blocks: each tool_result needs its tool_use in the previous message")
            previous = blocks
        return None

    def answer(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The content blocks the mock model answers ``body`` with."""
        last = body["messages"][-1]
        blocks = last["content"] if isinstance(last["content"], list) else [{"type": "text",
                                                                              "text": last["content"]}]
        results = [block for block in blocks if block.get("type") == "tool_result"]
        if results:
            content = results[0]["content"]
            text = content if isinstance(content, str) else "".join(part.get("text", "") for part in content)
            return [{"type": "text", "text": f"The tool said: {text}"}]
        custom = [tool["name"] for tool in body.get("tools") or ()
                  if tool.get("type", "custom") == "custom"]
        if custom and body.get("tool_choice", {}).get("type") != "none":
            return [{"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_mock1", "name": self.tool or custom[0],
                     "input": self.tool_input}]
        if any(block.get("type") == "image" for block in blocks):
            media = next(block["source"]["media_type"] for block in blocks if block.get("type") == "image")
            return [{"type": "text", "text": f"I see an image ({media})."}]
        return [{"type": "text", "text": REPLY}]

    async def messages(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        body = json.loads(await request.read())
        if "max_tokens" not in body:
            return web.json_response({"type": "error", "error": {"type": "invalid_request_error",
                                                                 "message": "max_tokens: Field required"}},
                                     status=400)
        if (complaint := self.invalid(body)) is not None:
            return web.json_response({"type": "error", "error": {"type": "invalid_request_error",
                                                                 "message": complaint}}, status=400)
        content = self.answer(body)
        stop = "tool_use" if any(block["type"] == "tool_use" for block in content) else "end_turn"
        message = {"id": "msg_mock", "type": "message", "role": "assistant", "model": body["model"],
                   "content": content, "stop_reason": stop, "stop_sequence": None, "usage": self.usage()}
        if not body.get("stream"):
            return web.json_response(message)
        return await self._stream(request, message)

    async def _stream(self, request: web.Request, message: dict[str, Any]) -> web.StreamResponse:
        start_usage = {**self.usage(), "output_tokens": 1}
        events: list[dict[str, Any]] = [
            {"type": "message_start", "message": {**message, "content": [], "stop_reason": None,
                                                  "usage": start_usage}},
            {"type": "ping"}]
        for index, block in enumerate(message["content"]):
            if block["type"] == "text":
                events.append({"type": "content_block_start", "index": index,
                               "content_block": {"type": "text", "text": ""}})
                words = block["text"].split(" ")
                events += [{"type": "content_block_delta", "index": index,
                            "delta": {"type": "text_delta", "text": word if not i else " " + word}}
                           for i, word in enumerate(words)]
            else:
                events.append({"type": "content_block_start", "index": index,
                               "content_block": {**block, "input": {}}})
                encoded = json.dumps(block["input"])
                middle = len(encoded) // 2
                events += [{"type": "content_block_delta", "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece}}
                           for piece in (encoded[:middle], encoded[middle:])]
            events.append({"type": "content_block_stop", "index": index})
        events.append({"type": "message_delta", "delta": {"stop_reason": message["stop_reason"],
                                                          "stop_sequence": None},
                       "usage": {"output_tokens": self.output_tokens}})
        events.append({"type": "message_stop"})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for event in events:
            await response.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
        await response.write_eof()
        return response

    async def count_tokens(self, request: web.Request) -> web.Response:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        body = json.loads(await request.read())
        return web.json_response({"input_tokens": len(json.dumps(body["messages"])) // 4})

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"data": [{"type": "model", "id": "claude-sonnet-4-5",
                                            "display_name": "Claude Sonnet 4.5",
                                            "created_at": "2025-09-29T00:00:00Z"}],
                                  "has_more": False, "first_id": "claude-sonnet-4-5",
                                  "last_id": "claude-sonnet-4-5"})
