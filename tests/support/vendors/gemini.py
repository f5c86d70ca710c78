"""Google's Gemini API (generativelanguage) played on 127.0.0.1, in its documented wire format.

``POST /{version}/models/{model}:generateContent``, ``:streamGenerateContent`` (SSE with
``alt=sse``, else one JSON array), ``:batchEmbedContents`` and ``GET /{version}/models``;
the key comes in ``x-goog-api-key`` or ``?key=``. With ``tools`` the model calls the
first function; after a ``functionResponse`` it repeats the response; with an image it
names its MIME type. Errors use Google's ``{"error": {"code", "message", "status"}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.upstreams import UpstreamServer

__all__ = ("CALL_ARGS", "REPLY", "GeminiUpstream")

REPLY = "Hello from Gemini."
CALL_ARGS = {"city": "Rome"}
_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
           503: "UNAVAILABLE"}


@dataclass
class GeminiUpstream(UpstreamServer):
    name: str = "gemini"
    output_tokens: int = 6
    thoughts_tokens: int = 2

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/{version}/models/{target}", self.dispatch),
                web.get("/{version}/models", self.models)]

    async def _failure(self, request: web.Request) -> web.StreamResponse | None:
        if self.mode == "hang":
            return await super()._failure(request)
        if self.mode.isdigit():
            status = int(self.mode)
            return web.json_response({"error": {"code": status, "message": f"{self.name} says {status}",
                                                "status": _STATUS.get(status, "UNKNOWN")}}, status=status)
        return None

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        if not (request.headers.get("x-goog-api-key") or request.query.get("key")):
            return web.json_response({"error": {"code": 403, "message": "Method doesn't allow unregistered "
                                                "callers. Please use API Key.", "status": "PERMISSION_DENIED"}},
                                     status=403)
        model, _, action = request.match_info["target"].partition(":")
        body = json.loads(await request.read())
        if action == "generateContent":
            return web.json_response(self.response(body, model))
        if action == "streamGenerateContent":
            return await self._stream(request, body, model)
        if action == "batchEmbedContents":
            return web.json_response({"embeddings": [{"values": [0.5, float(i)]}
                                                     for i, _ in enumerate(body["requests"])]})
        return web.json_response({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}},
                                 status=404)

    def usage(self) -> dict[str, int]:
        return {"promptTokenCount": self.prompt_tokens, "candidatesTokenCount": self.output_tokens,
                "thoughtsTokenCount": self.thoughts_tokens,
                "totalTokenCount": self.prompt_tokens + self.output_tokens + self.thoughts_tokens}

    @staticmethod
    def parts(body: dict[str, Any]) -> list[dict[str, Any]]:
        """The parts the mock model answers ``body`` with."""
        last = body["contents"][-1]["parts"]
        answers = [part["functionResponse"] for part in last if "functionResponse" in part]
        if answers:
            return [{"text": f"The tool said: {json.dumps(answers[0]['response'])}"}]
        mode = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode", "AUTO")
        functions = [declaration["name"] for tool in body.get("tools") or ()
                     for declaration in tool.get("functionDeclarations") or ()]
        if functions and mode != "NONE":
            return [{"functionCall": {"name": functions[0], "args": CALL_ARGS}}]
        images = [part["inlineData"]["mimeType"] for part in last if "inlineData" in part]
        if images:
            return [{"text": f"I see an image ({images[0]})."}]
        return [{"text": "Thinking it over.", "thought": True}, {"text": REPLY}]

    def response(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        return {"candidates": [{"content": {"role": "model", "parts": self.parts(body)}, "finishReason": "STOP",
                                "index": 0}],
                "usageMetadata": self.usage(), "modelVersion": model, "responseId": "gemini-mock"}

    async def _stream(self, request: web.Request, body: dict[str, Any], model: str) -> web.StreamResponse:
        pieces: list[dict[str, Any]] = []
        parts = self.parts(body)
        for index, part in enumerate(parts):
            texts = part["text"].split(" ") if "text" in part else [None]
            for word_index, word in enumerate(texts):
                piece_part = dict(part) if word is None else {**part, "text": word if not word_index else " " + word}
                candidate: dict[str, Any] = {"content": {"role": "model", "parts": [piece_part]}, "index": 0}
                last = index == len(parts) - 1 and word_index == len(texts) - 1
                usage = self.usage() if last else {"promptTokenCount": self.prompt_tokens}
                if last:
                    candidate["finishReason"] = "STOP"
                pieces.append({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model})
        sse = request.query.get("alt") == "sse"
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream" if sse else "application/json"})
        await response.prepare(request)
        for position, piece in enumerate(pieces):
            data = json.dumps(piece)
            if sse:
                await response.write(f"data: {data}\r\n\r\n".encode())
            else:
                await response.write((("[" if position == 0 else ",\r\n") + data).encode())
        if not sse:
            await response.write(b"]")
        await response.write_eof()
        return response

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"models": [{"name": "models/gemini-2.0-flash", "displayName": "Gemini 2.0 Flash",
                                              "supportedGenerationMethods": ["generateContent"]}]})
