"""Routes for clients that speak Anthropic's or Gemini's own API, relayed like ``/v1`` calls.

``POST /v1/messages`` (Claude Code, the ``anthropic`` SDK; key in ``x-api-key`` or
``Authorization``), ``POST /v1/messages/count_tokens``, and Gemini's
``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent`` (key in
``x-goog-api-key`` or ``?key=``) with ``:countTokens``, ``GET /v1beta/models`` and
``GET /v1beta/models/{model}``. Token counts are local (no channel is called or charged).
See :mod:`oneapi.relay.client_formats` for how each channel serves the rest; errors answer in each
client's dialect (``oneapi.errors.render_relay_error``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from litestar import Request, asgi, post
from litestar.types import HTTPScope, Receive, Send

from oneapi.errors import NotFound
from oneapi.relay.asgi import Incoming, method_not_allowed, read_body, send_bytes
from oneapi.relay.auth import authenticate
from oneapi.relay.client_formats import ANTHROPIC_MESSAGES, GEMINI_NATIVE, decode_body
from oneapi.relay.formats.events import encode_json
from oneapi.relay.request import RelayMode
from oneapi.relay.routes import ANTHROPIC_MESSAGES_PATH, _relay, _visible_models, parse_anthropic_messages
from oneapi.relay.tokenizer import count_messages, count_text

__all__ = ("client_format_routes",)


def _post_only(scope: HTTPScope, path: str) -> None:
    if scope["method"] != "POST":
        raise method_not_allowed(scope["method"], path)


@asgi(ANTHROPIC_MESSAGES_PATH, name="relay:anthropic-messages", copy_scope=False)
async def anthropic_messages(scope: HTTPScope, receive: Receive, send: Send) -> None:
    """Anthropic's Messages API over any channel serving the model."""
    _post_only(scope, ANTHROPIC_MESSAGES_PATH)
    await _relay(scope["app"]).handle(scope, receive, send, RelayMode.CHAT, parse_anthropic_messages)


@post("/v1/messages/count_tokens", name="relay:anthropic-count-tokens", status_code=200)
async def anthropic_count_tokens(request: Request[Any, Any, Any]) -> dict[str, int]:
    """Tokens of a Messages request, counted locally (no channel is charged or called)."""
    client_host = request.client.host if request.client else ""
    await authenticate(_relay(request.app).cache, request.headers, client_host)
    chat, _ = ANTHROPIC_MESSAGES.parse(await request.body(), {}).client.chat()
    return {"input_tokens": _chat_tokens(chat.document(), chat.model)}


def _chat_tokens(chat: dict[str, Any], model: str) -> int:
    tools = chat.get("tools")
    return count_messages(chat.get("messages"), model) + (count_text(encode_json(tools).decode(), model)
                                                          if tools else 0)


def _gemini_model(name: str) -> dict[str, Any]:
    return {"name": f"models/{name}", "displayName": name,
            "supportedGenerationMethods": [*GEMINI_NATIVE.actions, "countTokens"]}


@asgi("/v1beta/models", name="relay:gemini-native", is_mount=True, copy_scope=False)
async def gemini_native(scope: HTTPScope, receive: Receive, send: Send) -> None:
    """Gemini's ``GET models`` and ``POST models/{model}:{method}`` over any channel serving the model.

    Mounted rather than routed with a path parameter: Gemini's ``model:method`` segments
    and the list share the prefix, and a mount sees every method on every sub-path.
    """
    target = scope["path"].strip("/")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if "key" in query:  # Gemini's clients may send the key in the URL
        scope["headers"] = [*scope["headers"], (b"x-goog-api-key", query["key"][0].encode("latin-1"))]
    if scope["method"] == "GET" and ":" not in target:
        models = await _visible_models(Request(scope))
        if not target:
            listing = {"models": [_gemini_model(name) for name in models]}
            await send_bytes(send, 200, "application/json", encode_json(listing))
            return
        if target not in models:
            raise NotFound(f"models/{target} is not found for API version v1beta, or is not supported for "
                           "generateContent. Call ListModels to see the list of available models.")
        await send_bytes(send, 200, "application/json", encode_json(_gemini_model(target)))
        return
    _post_only(scope, f"/v1beta/models/{target}")
    model, _, action = target.partition(":")
    if not model or not action:
        raise NotFound(f"expected /v1beta/models/<model>:<method>, got /v1beta/models/{target}")
    if action == "countTokens":
        await _gemini_count_tokens(scope, receive, send, model)
        return
    sse = query.get("alt", [""])[0] == "sse"

    def parse(body: bytes, incoming: Incoming) -> Any:
        return GEMINI_NATIVE.parse(body, model, action, sse)

    await _relay(scope["app"]).handle(scope, receive, send, RelayMode.CHAT, parse)


async def _gemini_count_tokens(scope: HTTPScope, receive: Receive, send: Send, model: str) -> None:
    """``:countTokens``: ``{"totalTokens"}`` for the request's contents, or for a whole
    ``generateContentRequest`` when one is given, as Google answers."""
    relay = _relay(scope["app"])
    incoming = Incoming(scope)
    await authenticate(relay.cache, incoming.headers, incoming.client_host)
    body = await read_body(incoming, receive, relay.max_body_bytes)
    document = decode_body(body)
    inner = document.get("generateContentRequest")
    payload = encode_json(inner) if isinstance(inner, dict) else body
    chat, _ = GEMINI_NATIVE.parse(payload, model, "generateContent", sse=False).client.chat()
    await send_bytes(send, 200, "application/json",
                     encode_json({"totalTokens": _chat_tokens(chat.document(), model)}))


client_format_routes: list[Any] = [anthropic_messages, anthropic_count_tokens, gemini_native]
