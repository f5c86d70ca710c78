"""Cohere's v2 API played on 127.0.0.1: ``/v2/chat`` (SSE streams), ``/v2/embed``, ``/v2/rerank``.

Strict like the service: a missing bearer token is a 401, unknown request fields, unknown
roles, tool messages without ``tool_call_id`` and embed calls without ``input_type`` are
400s with Cohere's ``{"message"}`` body. With ``tools`` the model calls the first one with
:data:`CALL_ARGS` (after a ``tool_plan``); after a tool message it repeats the result;
otherwise it answers :data:`REPLY`. Streams are named SSE events (``message-start``,
``content-delta``, ``tool-call-start``/``-delta``/``-end``, ``message-end`` with usage).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.upstreams import UpstreamServer

__all__ = ("CALL_ARGS", "REPLY", "CohereUpstream")

REPLY = "Hello from Cohere."
CALL_ARGS = {"city": "Oslo"}
_CHAT_FIELDS = {
    "model",
    "messages",
    "tools",
    "documents",
    "citation_options",
    "response_format",
    "safety_mode",
    "max_tokens",
    "stop_sequences",
    "temperature",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "k",
    "p",
    "return_prompt",
    "logprobs",
    "tool_choice",
    "strict_tools",
    "stream",
    "thinking",
}


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"id": "err-mock", "message": message}, status=status)


@dataclass
class CohereUpstream(UpstreamServer):
    name: str = "cohere"
    output_tokens: int = 4

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v2/chat", self.chat),
            web.post("/v2/embed", self.embed),
            web.post("/v2/rerank", self.rerank),
        ]

    def usage(self) -> dict[str, Any]:
        counts = {"input_tokens": self.prompt_tokens, "output_tokens": self.output_tokens}
        return {"billed_units": counts, "tokens": counts}

    @staticmethod
    def _authorized(request: web.Request) -> bool:
        return (
            request.headers.get("Authorization", "").startswith("Bearer ")
            and len(request.headers["Authorization"]) > 7
        )

    @staticmethod
    def check_chat(body: dict[str, Any]) -> str | None:
        unknown = set(body) - _CHAT_FIELDS
        if unknown:
            return f"invalid request: unknown field(s) {sorted(unknown)}"
        if not body.get("model") or not isinstance(body.get("messages"), list) or not body["messages"]:
            return "invalid request: model and messages are required"
        for message in body["messages"]:
            if message.get("role") not in ("system", "user", "assistant", "tool"):
                return f"invalid request: unknown role {message.get('role')!r}"
            if message["role"] == "tool" and not message.get("tool_call_id"):
                return "invalid request: tool messages need tool_call_id"
        if body.get("tool_choice") not in (None, "REQUIRED", "NONE"):
            return "invalid request: tool_choice must be REQUIRED or NONE"
        return None

    async def chat(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _bad("no api key supplied", 401)
        body = json.loads(await request.read())
        if (problem := self.check_chat(body)) is not None:
            return _bad(problem)
        last = body["messages"][-1]
        calls: list[dict[str, Any]] = []
        if last["role"] == "tool":
            text = f"The tool said: {last['content']}"
        elif body.get("tools") and body.get("tool_choice") != "NONE":
            text = ""
            calls = [
                {
                    "id": "weather_mock1",
                    "type": "function",
                    "function": {
                        "name": body["tools"][0]["function"]["name"],
                        "arguments": json.dumps(CALL_ARGS),
                    },
                }
            ]
        else:
            text = REPLY
        if body.get("stream"):
            return await self._stream(request, text, calls)
        message: dict[str, Any] = {"role": "assistant"}
        if text:
            message["content"] = [{"type": "text", "text": text}]
        if calls:
            message["tool_plan"] = "I will look up the weather."
            message["tool_calls"] = calls
        return web.json_response(
            {
                "id": "c0ffee",
                "finish_reason": "TOOL_CALL" if calls else "COMPLETE",
                "message": message,
                "usage": self.usage(),
            }
        )

    async def _stream(
        self, request: web.Request, text: str, calls: list[dict[str, Any]]
    ) -> web.StreamResponse:
        events: list[dict[str, Any]] = [
            {
                "type": "message-start",
                "id": "c0ffee",
                "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": []}},
            }
        ]
        if text:
            events.append(
                {
                    "type": "content-start",
                    "index": 0,
                    "delta": {"message": {"content": {"type": "text", "text": ""}}},
                }
            )
            events += [
                {
                    "type": "content-delta",
                    "index": 0,
                    "delta": {"message": {"content": {"text": word if not i else " " + word}}},
                }
                for i, word in enumerate(text.split(" "))
            ]
            events.append({"type": "content-end", "index": 0})
        for index, call in enumerate(calls):
            events.append({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "Looking it up."}}})
            events.append(
                {
                    "type": "tool-call-start",
                    "index": index,
                    "delta": {
                        "message": {
                            "tool_calls": {
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": call["function"]["name"], "arguments": ""},
                            }
                        }
                    },
                }
            )
            arguments = call["function"]["arguments"]
            events += [
                {
                    "type": "tool-call-delta",
                    "index": index,
                    "delta": {"message": {"tool_calls": {"function": {"arguments": piece}}}},
                }
                for piece in (arguments[:4], arguments[4:])
            ]
            events.append({"type": "tool-call-end", "index": index})
        events.append(
            {
                "type": "message-end",
                "delta": {"finish_reason": "TOOL_CALL" if calls else "COMPLETE", "usage": self.usage()},
            }
        )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for event in events:
            await response.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
        await response.write_eof()
        return response

    async def embed(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _bad("no api key supplied", 401)
        body = json.loads(await request.read())
        if not body.get("input_type") or not isinstance(body.get("texts"), list):
            return _bad("invalid request: input_type and texts are required for embed-v4.0")
        if body.get("embedding_types") != ["float"]:
            return _bad("invalid request: embedding_types must name the types wanted")
        return web.json_response(
            {
                "id": "emb-mock",
                "texts": body["texts"],
                "response_type": "embeddings_by_type",
                "embeddings": {"float": [[0.1, float(i)] for i, _ in enumerate(body["texts"])]},
                "meta": {"billed_units": {"input_tokens": 2 * len(body["texts"])}},
            }
        )

    async def rerank(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _bad("no api key supplied", 401)
        body = json.loads(await request.read())
        if not body.get("model") or not body.get("query") or not body.get("documents"):
            return _bad("invalid request: model, query and documents are required")
        ranked = sorted(range(len(body["documents"])), key=lambda i: -len(str(body["documents"][i])))
        results = [{"index": i, "relevance_score": round(1 / (rank + 1), 3)} for rank, i in enumerate(ranked)]
        return web.json_response(
            {
                "id": "rr-mock",
                "results": results[: body.get("top_n") or len(results)],
                "meta": {"billed_units": {"search_units": 1}},
            }
        )
