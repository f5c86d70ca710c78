"""Routes for clients that speak Anthropic's or Gemini's own API, relayed like ``/v1`` calls.

``POST /v1/messages`` (Claude Code, the ``anthropic`` SDK; key in ``x-api-key`` or
``Authorization``), ``POST /v1/messages/count_tokens``, and Gemini's
``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent`` (key in
``x-goog-api-key`` or ``?key=``) with ``GET /v1beta/models``. See :mod:`oneapi.relay.entry`
for how each channel serves them.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from oneapi.errors import InvalidRequest
from oneapi.relay.auth import authenticate
from oneapi.relay.entry import ANTHROPIC_MESSAGES, GEMINI_NATIVE
from oneapi.relay.formats.events import encode_json
from oneapi.relay.request import RelayMode
from oneapi.relay.routes import _relay, _visible_models
from oneapi.relay.tokenizer import count_messages, count_text

__all__ = ("native_routes",)


@post("/v1/messages", name="relay:anthropic-messages", status_code=200)
async def anthropic_messages(request: Request[Any, Any, Any]) -> Response[Any]:
    """Anthropic's Messages API over any channel serving the model."""
    headers = {name: request.headers.get(name, "") for name in ("anthropic-version", "anthropic-beta")}
    return await _relay(request).handle(request, RelayMode.CHAT,
                                        lambda body: ANTHROPIC_MESSAGES.parse(body, headers))


@post("/v1/messages/count_tokens", name="relay:anthropic-count-tokens", status_code=200)
async def anthropic_count_tokens(request: Request[Any, Any, Any]) -> dict[str, int]:
    """Tokens of a Messages request, counted locally (no channel is charged or called)."""
    await authenticate(_relay(request).cache, request)
    chat = ANTHROPIC_MESSAGES.parse(await request.body(), {}).document()
    model = str(chat.get("model") or "")
    tools = chat.get("tools")
    return {"input_tokens": count_messages(chat.get("messages"), model)
            + (count_text(encode_json(tools).decode(), model) if tools else 0)}


@post("/v1beta/models/{target:str}", name="relay:gemini-native", status_code=200)
async def gemini_generate(request: Request[Any, Any, Any], target: str) -> Response[Any]:
    """Gemini's ``models/{model}:{method}`` over any channel serving the model."""
    model, _, action = target.partition(":")
    if not model or not action:
        raise InvalidRequest(f"expected models/<model>:<method>, got models/{target}", code="invalid_url")
    sse = request.query_params.get("alt") == "sse"
    return await _relay(request).handle(request, RelayMode.CHAT,
                                        lambda body: GEMINI_NATIVE.parse(body, model, action, sse))


@get("/v1beta/models", name="relay:gemini-models")
async def gemini_models(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The key's models in Gemini's list shape."""
    return {"models": [{"name": f"models/{name}", "displayName": name,
                        "supportedGenerationMethods": list(GEMINI_NATIVE.actions)}
                       for name in await _visible_models(request)]}


native_routes = [anthropic_messages, anthropic_count_tokens, gemini_generate, gemini_models]
