"""Vendors with one endpoint each, played on 127.0.0.1: DeepL, Coze, AIProxy Library, Replicate.

Each checks its auth header and request body the way the service does and answers in its
documented format, failures included (Coze and AIProxy report failures with HTTP 200).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.upstreams import UpstreamServer

__all__ = (
    "COZE_REPLY",
    "LIBRARY_ANSWER",
    "REPLICATE_WORDS",
    "AIProxyLibraryUpstream",
    "CozeUpstream",
    "DeepLUpstream",
    "ReplicateUpstream",
)

COZE_REPLY = "Hello from a Coze bot."
LIBRARY_ANSWER = "The library says hello."
REPLICATE_WORDS = ["Hello", " from", " Replicate", "."]


def _bearer(request: web.Request, key: str) -> bool:
    return request.headers.get("Authorization") == f"Bearer {key}"


@dataclass
class DeepLUpstream(UpstreamServer):
    """``POST /v2/translate``: ``DeepL-Auth-Key`` auth, ``text`` list and ``target_lang``."""

    name: str = "deepl"
    key: str = "deepl-key:fx"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v2/translate", self.translate)]

    async def translate(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"DeepL-Auth-Key {self.key}":
            return web.json_response({"message": "Authorization failure, check auth_key"}, status=403)
        body = json.loads(await request.read())
        if not isinstance(body.get("text"), list) or not body.get("target_lang"):
            return web.json_response({"message": "Value for 'text' not supported."}, status=400)
        if body["target_lang"] == "EN":
            return web.json_response(
                {
                    "message": "Value for 'target_lang' not supported: 'EN' is deprecated, "
                    "use 'EN-GB' or 'EN-US'."
                },
                status=400,
            )
        return web.json_response(
            {
                "translations": [
                    {"detected_source_language": "EN", "text": f"[{body['target_lang']}] {text}"}
                    for text in body["text"]
                ]
            }
        )


@dataclass
class CozeUpstream(UpstreamServer):
    """``POST /open_api/v2/chat``: bot id, user and query required; errors are HTTP 200 with a code."""

    name: str = "coze"
    key: str = "pat_coze_mock"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/open_api/v2/chat", self.chat)]

    async def chat(self, request: web.Request) -> web.StreamResponse:
        if not _bearer(request, self.key):
            return web.json_response({"code": 4100, "msg": "authentication is invalid"})
        body = json.loads(await request.read())
        if not body.get("bot_id", "").isdigit() or not body.get("user") or not body.get("query"):
            return web.json_response({"code": 4000, "msg": "The requested parameter is invalid"})
        messages = [
            {"role": "assistant", "type": "answer", "content": COZE_REPLY, "content_type": "text"},
            {"role": "assistant", "type": "follow_up", "content": "Ask more?", "content_type": "text"},
        ]
        if not body.get("stream"):
            return web.json_response(
                {"conversation_id": "conv1", "code": 0, "msg": "success", "messages": messages}
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        events = [
            {
                "event": "message",
                "message": {**messages[0], "content": word if not index else " " + word},
                "is_finish": False,
                "index": 0,
                "conversation_id": "conv1",
            }
            for index, word in enumerate(COZE_REPLY.split(" "))
        ]
        events += [{"event": "message", "message": messages[1], "index": 1}, {"event": "done"}]
        for event in events:
            await response.write(b"data:" + json.dumps(event).encode() + b"\n\n")
        await response.write_eof()
        return response


@dataclass
class AIProxyLibraryUpstream(UpstreamServer):
    """``POST /api/library/ask``: ``libraryId`` and ``query`` required; failures are ``success: false``."""

    name: str = "aiproxy-library"
    key: str = "ap-library-key"
    library: str = "lib-42"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/library/ask", self.ask)]

    async def ask(self, request: web.Request) -> web.StreamResponse:
        if not _bearer(request, self.key):
            return web.json_response({"success": False, "errCode": 401, "message": "invalid token"})
        body = json.loads(await request.read())
        if body.get("libraryId") != self.library or not body.get("query"):
            return web.json_response({"success": False, "errCode": 404, "message": "library not found"})
        documents = [{"title": "Guide", "url": "https://docs.example/guide"}]
        if not body.get("stream"):
            return web.json_response({"success": True, "answer": LIBRARY_ANSWER, "documents": documents})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for index, word in enumerate(LIBRARY_ANSWER.split(" ")):
            chunk = {"content": word if not index else " " + word, "finish": False, "model": body["model"]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        final = {"content": "", "finish": True, "model": body["model"], "documents": documents}
        await response.write(f"data: {json.dumps(final)}\n\n".encode())
        await response.write_eof()
        return response


@dataclass
class ReplicateUpstream(UpstreamServer):
    """``POST /v1/models/{owner}/{name}/predictions`` with ``Prefer: wait``: a finished prediction."""

    name: str = "replicate"
    key: str = "r8_mock"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/models/{owner}/{name}/predictions", self.predict)]

    async def predict(self, request: web.Request) -> web.Response:
        if not _bearer(request, self.key):
            return web.json_response(
                {
                    "title": "Unauthenticated",
                    "detail": "You did not pass a valid authentication token",
                    "status": 401,
                },
                status=401,
            )
        body: dict[str, Any] = json.loads(await request.read())
        if set(body) != {"input"} or not body["input"].get("prompt"):
            return web.json_response(
                {"title": "Invalid input", "status": 422, "detail": "input: prompt is required"}, status=422
            )
        model = f"{request.match_info['owner']}/{request.match_info['name']}"
        prediction: dict[str, Any] = {
            "id": "pred-mock",
            "model": model,
            "input": body["input"],
            "status": "succeeded",
            "error": None,
        }
        if request.headers.get("Prefer") != "wait":
            prediction.update(status="starting", output=None)
        elif model.startswith("black-forest-labs/"):
            prediction["output"] = "https://replicate.delivery/mock/out-0.webp"
        else:
            prediction["output"] = REPLICATE_WORDS
            prediction["metrics"] = {
                "input_token_count": self.prompt_tokens,
                "output_token_count": len(REPLICATE_WORDS),
                "predict_time": 0.1,
            }
        return web.json_response(prediction, status=201)
