"""OpenAI-compatible vendors on 127.0.0.1: tool calls, DeepSeek's ``reasoning_content``,
versioned base paths (Doubao's ``/api/v3``), Zhipu's JWT-guarded ``/api/paas/v4`` and
Jina/Cohere-shaped ``/v1/rerank``.

Extends the relay's :class:`~tests.support.upstreams.OpenAIUpstream`: with ``tools`` the
model calls the first tool (arguments :data:`TOOL_ARGS`, streamed in fragments); after a
``tool`` message it repeats the result; with ``reasoning`` set it thinks out loud first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web

from tests.support.upstreams import OpenAIUpstream

__all__ = ("REASONING", "TOOL_ARGS", "CompatUpstream")

TOOL_ARGS = {"city": "Berlin"}
REASONING = "Let me think."


@dataclass
class CompatUpstream(OpenAIUpstream):
    name: str = "compat"
    reasoning: bool = False
    jwt_secret: str = ""

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/chat/completions", self.chat), web.post("/api/v3/chat/completions", self.chat),
                web.post("/api/paas/v4/chat/completions", self.zhipu_chat), web.post("/v1/rerank", self.rerank),
                web.get("/v1/models", self.models)]

    async def zhipu_chat(self, request: web.Request) -> web.StreamResponse:
        try:
            claims = jwt.decode(request.headers.get("Authorization", ""), self.jwt_secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            return web.json_response({"error": {"code": "1000", "message": "身份验证失败。"}}, status=401)
        if not claims.get("api_key"):
            return web.json_response({"error": {"code": "1001", "message": "api_key missing"}}, status=401)
        return await self.chat(request)

    def _answer(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """A tool call or tool-result answer, or None for the plain mock reply."""
        last = body["messages"][-1]
        if last.get("role") == "tool":
            return {"content": f"The tool said: {last['content']}"}
        if body.get("tools") and body.get("tool_choice") != "none":
            return {"tool": body["tools"][0]["function"]["name"]}
        return None

    def tool_arguments(self) -> dict[str, Any]:
        return TOOL_ARGS

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        answer = self._answer(body)
        if answer is None and not self.reasoning:
            return await super().chat(request)
        answer = answer or {"content": "Hello there."}
        ident = {"id": "chatcmpl-compat", "created": 1700000000, "model": body["model"]}
        call = {"id": "call_compat1", "type": "function",
                "function": {"name": answer.get("tool", ""), "arguments": json.dumps(self.tool_arguments())}}
        finish = "tool_calls" if "tool" in answer else "stop"
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": answer.get("content")}
            if self.reasoning:
                message["reasoning_content"] = REASONING
            if "tool" in answer:
                message["tool_calls"] = [call]
            return web.json_response({**ident, "object": "chat.completion", "usage": self.usage(4),
                                      "choices": [{"index": 0, "message": message, "finish_reason": finish}]})
        chunk = {**ident, "object": "chat.completion.chunk"}
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if self.reasoning:
            deltas.append({"reasoning_content": REASONING})
        if "tool" in answer:
            arguments = call["function"]["arguments"]
            deltas.append({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                           "function": {"name": call["function"]["name"], "arguments": ""}}]})
            deltas += [{"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                       for piece in (arguments[:5], arguments[5:])]
        else:
            words = answer["content"].split(" ")
            deltas += [{"content": word if not i else " " + word} for i, word in enumerate(words)]
        events: list[dict[str, Any] | str] = [
            {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas]
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**chunk, "choices": [], "usage": self.usage(4)})
        events.append("[DONE]")
        return await self.sse(request, events)

    async def rerank(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        documents = body["documents"]
        ranked = sorted(range(len(documents)), key=lambda i: -len(str(documents[i])))[: body.get("top_n")]
        return web.json_response({"id": "rerank-mock", "results": [
            {"index": i, "relevance_score": round(1 / (rank + 1), 3)} for rank, i in enumerate(ranked)],
            "meta": {"billed_units": {"search_units": 1}, "tokens": {"input_tokens": self.prompt_tokens}}})
