"""Vendor upstreams played by real HTTP servers on 127.0.0.1, in the vendors' wire formats.

Each server runs an aiohttp app on its own event loop in a background thread, records
every request it receives and answers like the vendor's documented API, streaming
included. :class:`UpstreamServer` is the reusable base: subclass it, add routes in
``routes()``, and use it as a context manager::

    with OpenAIUpstream() as upstream:
        ...  # a channel with base_url=upstream.url

Behaviour is switched per server through ``mode`` (``"ok"``, ``"500"``, ``"429"``,
``"400"``, ``"cut"`` (stream dies mid-way), ``"slow"`` (slow stream), ``"no_usage"``,
``"hang"`` (never answers; ``released`` counts the calls whose connection the caller
closed), ``"stall"`` (a stream that stops after its first events), and the junk that
real vendors and their proxies send under a 200: ``"html"``, ``"truncated"``,
``"error200"``; ``"echo_key"`` answers 401 quoting the caller's ``Authorization`` header,
as OpenAI's "Incorrect API key provided" does). Given a server ``tls`` context, a server
answers over HTTPS at ``https://localhost:<port>``, as every hosted vendor does.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ("AzureUpstream", "OpenAIUpstream", "Received", "UpstreamServer", "dead_url")

REPLY_WORDS = ("Hello", " from", " the", " mock", " upstream", ".")
REPLY = "".join(REPLY_WORDS)
SPEECH_BYTES = b"ID3\x04\x00fake-mp3-frames" * 16


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def dead_url() -> str:
    """A base URL where nothing listens (connection refused)."""
    from tests.support.gateway import free_port

    return f"http://127.0.0.1:{free_port()}"


@dataclass
class UpstreamServer:
    """A vendor stand-in; subclasses add routes."""

    mode: str = "ok"
    name: str = "upstream"
    prompt_tokens: int = 11
    chunk_delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    streams_cancelled: int = 0
    released: int = 0
    tls: ssl.SSLContext | None = None  # a server context: answer over HTTPS

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}" if self.tls else f"http://127.0.0.1:{self.port}"

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def __enter__(self) -> UpstreamServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.tls)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.method, request.path, dict(request.query),
                                      dict(request.headers), body))
        failure = await self._failure(request)
        if failure is not None:
            return failure
        return await handler(request)

    async def wait_closed(self, request: web.Request, seconds: float = 60) -> None:
        """Hold the call until the caller closes the connection (counted in ``released``)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if request.transport is None or request.transport.is_closing():
                self.released += 1
                return
            await asyncio.sleep(0.02)

    async def _failure(self, request: web.Request) -> web.StreamResponse | None:
        if self.mode == "hang":
            await self.wait_closed(request)
            return web.Response(status=504)
        if self.mode == "html":
            return web.Response(text="<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
                                content_type="text/html")
        if self.mode == "truncated":
            return web.Response(body=b'{"id": "chatcmpl-mock", "choices": [{"index": 0, "mess',
                                content_type="application/json")
        if self.mode == "error200":
            return web.json_response({"error": {"message": "The server had an error while processing your "
                                                "request", "type": "server_error", "param": None,
                                                "code": None}})
        if self.mode == "echo_key":
            shown = request.headers.get("Authorization", "")
            return web.json_response({"error": {"message": f"Incorrect API key provided: {shown}. You can "
                                                "find your API key at https://platform.openai.com/account/"
                                                "api-keys.", "type": "invalid_request_error", "param": None,
                                                "code": "invalid_api_key"}}, status=401)
        if self.mode in ("500", "429", "400", "401"):
            status = int(self.mode)
            kind = {500: "server_error", 429: "rate_limit_exceeded", 400: "invalid_request_error",
                    401: "invalid_api_key"}[status]
            return web.json_response({"error": {"message": f"{self.name} says {status}", "type": kind,
                                                "param": None, "code": kind}}, status=status)
        return None

    def wait_cancelled(self, count: int = 1, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.streams_cancelled >= count:
                return True
            time.sleep(0.02)
        return False


class OpenAIUpstream(UpstreamServer):
    """OpenAI's REST API: chat, completions, embeddings, moderations, images, audio, responses,
    the model list and the legacy billing dashboard (a balance of $99.50)."""

    MODEL_IDS: tuple[str, ...] = ("gpt-4o-mini",)
    BALANCE_LIMIT_USD, BALANCE_USED_CENTS = 120.0, 2050

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/chat/completions", self.chat),
            web.post("/v1/completions", self.completions),
            web.post("/v1/embeddings", self.embeddings),
            web.post("/v1/moderations", self.moderations),
            web.post("/v1/images/generations", self.images),
            web.post("/v1/images/edits", self.images),
            web.post("/v1/audio/transcriptions", self.transcription),
            web.post("/v1/audio/translations", self.transcription),
            web.post("/v1/audio/speech", self.speech),
            web.post("/v1/responses", self.responses),
            web.get("/v1/models", self.models),
            web.get("/v1/dashboard/billing/subscription", self.subscription),
            web.get("/v1/dashboard/billing/usage", self.billing_usage),
        ]

    # -- helpers ------------------------------------------------------------------------
    def usage(self, completion: int = len(REPLY_WORDS)) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": completion,
                "total_tokens": self.prompt_tokens + completion}

    async def sse(self, request: web.Request, events: list[dict[str, Any] | str]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        try:
            for index, event in enumerate(events):
                if self.mode == "cut" and index == 3:
                    assert request.transport is not None
                    request.transport.abort()
                    return response
                if self.mode == "stall" and index == 2:
                    await self.wait_closed(request)
                    return response
                data = event if isinstance(event, str) else json.dumps(event)
                await response.write(f"data: {data}\n\n".encode())
                if self.chunk_delay:
                    await asyncio.sleep(self.chunk_delay)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.streams_cancelled += 1
            raise
        return response

    # -- endpoints ----------------------------------------------------------------------
    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        model = body["model"]
        ident = {"id": "chatcmpl-mock", "created": 1700000000, "model": model,
                 "system_fingerprint": "fp_mock"}
        if not body.get("stream"):
            return web.json_response({**ident, "object": "chat.completion", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "".join(REPLY_WORDS)},
                 "logprobs": None, "finish_reason": "stop"}],
                **({} if self.mode == "no_usage" else {"usage": self.usage()})})
        with_usage = bool((body.get("stream_options") or {}).get("include_usage")) and self.mode != "no_usage"
        extra = {"usage": None} if with_usage else {}
        chunk = {**ident, "object": "chat.completion.chunk"}
        events: list[dict[str, Any] | str] = [
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                   "finish_reason": None}], **extra}]
        events += [{**chunk, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}],
                    **extra} for word in REPLY_WORDS]
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], **extra})
        if with_usage:
            events.append({**chunk, "choices": [], "usage": self.usage()})
        events.append("[DONE]")
        return await self.sse(request, events)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        ident = {"id": "cmpl-mock", "object": "text_completion", "created": 1700000000,
                 "model": body["model"]}
        if not body.get("stream"):
            return web.json_response({**ident, "choices": [{"text": "".join(REPLY_WORDS), "index": 0,
                                                             "logprobs": None, "finish_reason": "stop"}],
                                      "usage": self.usage()})
        with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events: list[dict[str, Any] | str] = [
            {**ident, "choices": [{"text": word, "index": 0, "logprobs": None, "finish_reason": None}]}
            for word in REPLY_WORDS]
        if with_usage:
            events.append({**ident, "choices": [], "usage": self.usage()})
        events.append("[DONE]")
        return await self.sse(request, events)

    async def embeddings(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return web.json_response({"object": "list", "model": body["model"], "data": [
            {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(inputs))],
            "usage": {"prompt_tokens": self.prompt_tokens, "total_tokens": self.prompt_tokens}})

    async def moderations(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        return web.json_response({"id": "modr-mock", "model": body.get("model", "omni-moderation-latest"),
                                  "results": [{"flagged": False, "categories": {"violence": False},
                                               "category_scores": {"violence": 0.001}}]})

    async def images(self, request: web.Request) -> web.Response:
        return web.json_response({"created": 1700000000, "data": [{"url": "https://example.invalid/image.png",
                                                                   "revised_prompt": "a cat"}]})

    async def transcription(self, request: web.Request) -> web.Response:
        body = await request.read()  # already read by the recorder, so not via request.post()
        if b'name="response_format"\r\n\r\ntext\r\n' in body:
            return web.Response(text="hello world from audio", content_type="text/plain")
        return web.json_response({"text": "hello world from audio"})

    async def speech(self, request: web.Request) -> web.Response:
        return web.Response(body=SPEECH_BYTES, content_type="audio/mpeg")

    async def responses(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        text = "".join(REPLY_WORDS)
        usage = {"input_tokens": self.prompt_tokens, "output_tokens": len(REPLY_WORDS),
                 "total_tokens": self.prompt_tokens + len(REPLY_WORDS)}
        response = {"id": "resp_mock", "object": "response", "created_at": 1700000000, "status": "completed",
                    "model": body["model"], "output": [
                        {"type": "message", "id": "msg_mock", "status": "completed", "role": "assistant",
                         "content": [{"type": "output_text", "text": text, "annotations": []}]}],
                    "usage": usage}
        if not body.get("stream"):
            return web.json_response(response)
        events: list[dict[str, Any] | str] = [
            {"type": "response.created", "sequence_number": 0,
             "response": {**response, "status": "in_progress", "output": [], "usage": None}}]
        events += [{"type": "response.output_text.delta", "sequence_number": i + 1, "item_id": "msg_mock",
                    "output_index": 0, "content_index": 0, "delta": word} for i,
                    word in enumerate(REPLY_WORDS)]
        events.append({"type": "response.completed", "sequence_number": len(REPLY_WORDS) + 1,
                       "response": response})
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await stream.prepare(request)
        for event in events:
            await stream.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
        await stream.write_eof()
        return stream

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": model, "object": "model", "created": 1700000000, "owned_by": "openai"}
            for model in self.MODEL_IDS]})

    async def subscription(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "billing_subscription", "hard_limit_usd": self.BALANCE_LIMIT_USD})

    async def billing_usage(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "total_usage": self.BALANCE_USED_CENTS})


class AzureUpstream(OpenAIUpstream):
    """Azure OpenAI's data plane: deployments in the path, ``api-key`` header, api-version."""

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/openai/deployments/{deployment}/{task:.+}", self.deployment)]

    async def deployment(self, request: web.Request) -> web.StreamResponse:
        if "api-version" not in request.query or "api-key" not in request.headers:
            return web.json_response({"error": {"code": "404", "message": "Resource not found"}}, status=404)
        task = request.match_info["task"]
        handler = {"chat/completions": self.chat, "embeddings": self.embeddings}.get(task)
        if handler is None:
            return web.json_response({"error": {"code": "404", "message": "Resource not found"}}, status=404)
        return await handler(request)
