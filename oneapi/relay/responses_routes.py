"""``GET``/``DELETE /v1/responses/{id}`` and ``GET /v1/responses/{id}/input_items``.

They answer from :mod:`oneapi.relay.responses_store`, for responses the gateway made by
conversion (an OpenAI channel keeps its own; the gateway does not know which one made
those ids). Only the token's user sees its responses; any other id is OpenAI's 404.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get
from litestar.params import FromPath

from oneapi.errors import InvalidRequest
from oneapi.relay.auth import authenticate
from oneapi.relay.responses_store import ResponseStore, Stored

__all__ = ("responses_routes",)


async def _stored(request: Request[Any, Any, Any], response_id: str) -> tuple[ResponseStore, Stored]:
    relay = request.app.state.runtime.services.relay
    caller = await authenticate(relay.cache, request.headers, request.client.host if request.client else "")
    store: ResponseStore = relay.responses
    return store, await store.get(response_id, caller.user.id)


@get("/v1/responses/{response_id:str}", name="relay:response")
async def retrieve_response(request: Request[Any, Any, Any], response_id: FromPath[str]) -> dict[str, Any]:
    """A stored response, as it was answered."""
    _, stored = await _stored(request, response_id)
    return stored.response


@delete("/v1/responses/{response_id:str}", name="relay:response-delete", status_code=200)
async def delete_response(request: Request[Any, Any, Any], response_id: FromPath[str]) -> dict[str, Any]:
    store, stored = await _stored(request, response_id)
    await store.delete(stored.id, stored.user_id)
    return {"id": stored.id, "object": "response", "deleted": True}


@get("/v1/responses/{response_id:str}/input_items", name="relay:response-input-items")
async def input_items(request: Request[Any, Any, Any], response_id: FromPath[str]) -> dict[str, Any]:
    """The request's input items, newest first by default (``order``, ``after``, ``limit`` as OpenAI)."""
    _, stored = await _stored(request, response_id)
    query = request.query_params
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequest("order must be 'asc' or 'desc'", param="order")
    try:
        limit = int(query.get("limit", 20))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise InvalidRequest("limit must be an integer from 1 to 100", param="limit")
    items = stored.input if order == "asc" else stored.input[::-1]
    if after := query.get("after"):
        ids = [item.get("id") for item in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    page = items[:limit]
    return {"object": "list", "data": page, "first_id": page[0].get("id") if page else None,
            "last_id": page[-1].get("id") if page else None, "has_more": len(items) > limit}


responses_routes = [retrieve_response, delete_response, input_items]
