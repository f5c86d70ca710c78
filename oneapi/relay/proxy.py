"""``/v1/oneapi/proxy/{channel id}/{path}``: one-api's Proxy channels (type 43), passed through.

A Proxy channel forwards any request, whatever its method, path and body, to the channel's
base URL: ``/v1/oneapi/proxy/7/v1/files?x=1`` goes to ``{base}/v1/files?x=1``. The caller
authenticates with its ``sk-`` key as on any relay route, and the channel must be a
Proxy channel, enabled and open to the caller's group. The caller's headers go along
except the hop-by-hop ones and its credentials; the channel's key is sent as the
``Authorization`` header as it is (no ``Bearer``: the key holds whatever scheme the target
wants), as one-api does. The answer comes back untouched, streamed as it arrives. The
upstream's usage is unknown here, so nothing is billed, as in one-api.
"""

from __future__ import annotations

from litestar import asgi
from litestar.types import Receive, Scope, Send

from oneapi.db.models import Status
from oneapi.errors import NotFound
from oneapi.relay.asgi import Incoming, read_body
from oneapi.relay.auth import authenticate
from oneapi.relay.routes import _relay

__all__ = ("PROXY_TYPE", "proxy_route")

PROXY_TYPE = 43
PREFIX = "/v1/oneapi/proxy"
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer",
                         "proxy-authorization", "content-length"})
_DROPPED = _HOP_BY_HOP | {"host", "accept-encoding", "authorization", "x-api-key", "api-key",
                          "x-goog-api-key"}
_NOT_RETURNED = _HOP_BY_HOP | {"server", "date"}


@asgi(PREFIX, name="relay:proxy", is_mount=True, copy_scope=False)
async def proxy_route(scope: Scope, receive: Receive, send: Send) -> None:
    """Forward a request to a Proxy channel's base URL (see the module docstring)."""
    relay = _relay(scope["app"])
    incoming = Incoming(scope)
    caller = await authenticate(relay.cache, incoming.headers, incoming.client_host)
    # the raw path: Litestar's mount hands on a normalised one (with a trailing slash added)
    raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
    channel_part, _, rest = raw_path.removeprefix(PREFIX).lstrip("/").partition("/")
    channel = relay.cache.channels.get(int(channel_part)) if channel_part.isdigit() else None
    if (channel is None or channel.type != PROXY_TYPE or channel.status != Status.ENABLED
            or caller.user.group not in channel.groups):
        raise NotFound(f"no enabled Proxy channel #{channel_part} for this key's group")
    body = await read_body(incoming, receive, relay.max_body_bytes)
    query = scope.get("query_string", b"").decode("latin-1")
    url = f"{channel.base_url.rstrip('/')}/{rest}" + (f"?{query}" if query else "")
    headers = {name: value for name, value in incoming.headers.items() if name not in _DROPPED}
    headers["Authorization"] = channel.next_key()
    response = await relay.upstream.send(incoming.method, url, headers, body or None)
    try:
        returned = [(name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in response.headers.items() if name.lower() not in _NOT_RETURNED]
        await send({"type": "http.response.start", "status": response.status, "headers": returned})
        async for chunk in response.iter_chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        response.close()
