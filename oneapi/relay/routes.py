"""The ``/v1`` routes: one handler per OpenAI endpoint, plus the model list.

The same relay calls are also offered as :func:`~oneapi.relay.lanes.relay_lanes`, which the
outermost app (:mod:`oneapi.edge`) answers before Litestar's router; these routes then serve
only what the lanes pass on (other methods, and apps run without the edge).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, asgi, get
from litestar.handlers import ASGIRouteHandler
from litestar.params import FromPath
from litestar.types import HTTPScope, Receive, Send

from oneapi.errors import NotFound
from oneapi.relay.asgi import method_not_allowed
from oneapi.relay.auth import authenticate
from oneapi.relay.lanes import ANTHROPIC_MESSAGES_PATH, parse_anthropic_messages, relay_lanes
from oneapi.relay.request import RelayMode
from oneapi.relay.service import Relay

__all__ = ("ANTHROPIC_MESSAGES_PATH", "parse_anthropic_messages", "relay_lanes", "relay_routes")

def _relay(app: Any) -> Relay:
    return app.state.runtime.services.relay


def _endpoint(mode: RelayMode) -> ASGIRouteHandler:
    path = f"/v1/{mode.value}"

    async def relay(scope: HTTPScope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            raise method_not_allowed(scope["method"], path)
        await _relay(scope["app"]).handle(scope, receive, send, mode)

    relay.__doc__ = f"Relay ``POST {path}`` to a channel serving the requested model."
    return asgi(path, name=f"relay:{mode.value}", copy_scope=False)(relay)


async def _visible_models(request: Request[Any, Any, Any]) -> list[str]:
    relay = _relay(request.app)
    caller = await authenticate(relay.cache, request.headers, request.client.host if request.client else "")
    if caller.token.models is not None:
        return sorted(caller.token.models)
    return relay.cache.models_for_group(caller.user.group)


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1626777600, "owned_by": "one-api"}


@get("/v1/models", name="relay:models")
async def list_models(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Models this key may use: the token's allow-list, else its group's channels."""
    return {"object": "list", "data": [_model(name) for name in await _visible_models(request)]}


@get("/v1/models/{model_id:path}", name="relay:model")
async def retrieve_model(request: Request[Any, Any, Any], model_id: FromPath[str]) -> dict[str, Any]:
    name = model_id.lstrip("/")
    if name not in await _visible_models(request):
        raise NotFound(f"The model '{name}' does not exist", param="model", code="model_not_found")
    return _model(name)


relay_routes = [*(_endpoint(mode) for mode in RelayMode), list_models, retrieve_model]
