"""Ollama's REST API played on 127.0.0.1: ``/api/chat`` (NDJSON streams), ``/api/embed``, ``/api/tags``.

As the real server, ``/api/chat`` streams unless the body says ``"stream": false``, and
the last line (``done: true``) carries ``prompt_eval_count``/``eval_count``. With
``tools`` the model calls the first one; with ``images`` it reports how many.
Errors are ``{"error": "..."}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.upstreams import UpstreamServer

__all__ = ("CALL_ARGS", "REPLY", "OllamaUpstream")

REPLY = "Hello from Ollama."
CALL_ARGS = {"city": "Lima"}


@dataclass
class OllamaUpstream(UpstreamServer):
    name: str = "ollama"
    output_tokens: int = 5

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/chat", self.chat), web.post("/api/embed", self.embed),
                web.get("/api/tags", self.tags)]

    async def _failure(self, request: web.Request) -> web.StreamResponse | None:
        if self.mode == "hang":
            return await super()._failure(request)
        if self.mode.isdigit():
            return web.json_response({"error": f"{self.name} says {self.mode}"}, status=int(self.mode))
        return None

    @staticmethod
    def message(body: dict[str, Any]) -> dict[str, Any]:
        last = body["messages"][-1]
        if last["role"] == "tool":
            return {"role": "assistant", "content": f"The tool said: {last['content']}"}
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            return {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": name,
                                                                                     "arguments": CALL_ARGS}}]}
        if last.get("images"):
            return {"role": "assistant", "content": f"I see {len(last['images'])} image(s)."}
        return {"role": "assistant", "content": REPLY}

    def _final(self, model: str, message: dict[str, Any]) -> dict[str, Any]:
        return {"model": model, "created_at": "2025-01-01T00:00:00Z", "message": message, "done": True,
                "done_reason": "stop", "total_duration": 1000, "prompt_eval_count": self.prompt_tokens,
                "eval_count": self.output_tokens}

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        model = body["model"]
        message = self.message(body)
        if body.get("stream") is False:
            return web.json_response(self._final(model, message))
        lines: list[dict[str, Any]] = []
        if message.get("tool_calls"):
            lines.append({"model": model, "created_at": "2025-01-01T00:00:00Z", "message": message, "done": False})
        else:
            words = message["content"].split(" ")
            lines += [{"model": model, "created_at": "2025-01-01T00:00:00Z",
                       "message": {"role": "assistant", "content": word if not i else " " + word}, "done": False}
                      for i, word in enumerate(words)]
        lines.append(self._final(model, {"role": "assistant", "content": ""}))
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        for line in lines:
            await response.write(json.dumps(line).encode() + b"\n")
        await response.write_eof()
        return response

    async def embed(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return web.json_response({"model": body["model"], "embeddings": [[0.25, float(i)] for i in range(len(inputs))],
                                  "prompt_eval_count": self.prompt_tokens})

    async def tags(self, request: web.Request) -> web.Response:
        return web.json_response({"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest"}]})
