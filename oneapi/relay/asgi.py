"""Raw ASGI helpers for the relay endpoints.

The relay routes are Litestar ``asgi`` handlers: they keep Litestar's routing, middleware
and error rendering, but skip building request and response objects, which the bench
showed to be a large share of a pass-through request's CPU time. These helpers are all
the HTTP they need: headers, the body (with the size limit), and plain or streamed
answers.
"""

from __future__ import annotations

from typing import Any

from litestar.types import Receive, Scope, Send

from oneapi.errors import GatewayError, PayloadTooLarge

__all__ = ("ClientDisconnected", "Incoming", "method_not_allowed", "read_body", "send_bytes", "start_stream")


class ClientDisconnected(Exception):
    """The client went away before its request body arrived."""


class Incoming:
    """The parts of an ASGI request scope the relay reads."""

    __slots__ = ("client_host", "headers", "method", "request_id")

    def __init__(self, scope: Scope) -> None:
        self.headers: dict[str, str] = {name.decode("latin-1").lower(): value.decode("latin-1")
                                        for name, value in scope["headers"]}
        client = scope.get("client")
        self.client_host: str = client[0] if client else ""
        self.method: str = scope.get("method", "GET")  # type: ignore[assignment]
        self.request_id: str = scope.get("state", {}).get("request_id", "")


async def read_body(incoming: Incoming, receive: Receive, limit: int) -> bytes:
    """The whole request body; 413 as soon as it is known to be over ``limit`` bytes."""
    declared = incoming.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("request body is too large")
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Any = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        body = message.get("body", b"")
        if body:
            size += len(body)
            if size > limit:
                raise PayloadTooLarge("request body is too large")
            chunks.append(body)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_bytes(send: Send, status: int, media_type: str, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media_type.encode("latin-1")),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


_STREAM_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"),
                   (b"x-accel-buffering", b"no")]


async def start_stream(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": list(_STREAM_HEADERS)})


def method_not_allowed(method: str, path: str) -> GatewayError:
    return GatewayError(f"Method {method} is not allowed on {path}", status_code=405,
                        error_type="invalid_request_error", headers={"Allow": "POST"})
