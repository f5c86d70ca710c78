"""Raw ASGI helpers for the relay endpoints.

Relay calls skip Litestar's request and response objects (the bench showed them to be a
large share of a pass-through request's CPU time), and ``POST`` calls reach the relay
straight from :mod:`oneapi.edge`. These helpers are all the HTTP they need: headers, the
body (with the size limit), and plain, JSON or streamed answers.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from oneapi.errors import GatewayError, InvalidRequest, PayloadTooLarge

if TYPE_CHECKING:
    from litestar.types import Receive, Scope, Send

__all__ = ("ClientDisconnected", "Incoming", "method_not_allowed", "read_body", "send_bytes", "send_json",
           "start_stream")

_encode_json = msgspec.json.Encoder().encode


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
        self.method: str = scope.get("method", "GET")  # type: ignore[assignment]  # websocket scopes: GET
        self.request_id: str = scope.get("state", {}).get("request_id", "")


async def read_body(incoming: Incoming, receive: Receive, limit: int) -> bytes:
    """The whole request body; 413 as soon as it is known to be over ``limit`` bytes.

    A gzip- or deflate-encoded body (``Content-Encoding``, as one-api's gzip middleware
    accepts) is decoded here, and the limit applies to what it decodes to.
    """
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
            whole = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            encoding = incoming.headers.get("content-encoding", "")
            return _decoded(whole, encoding.strip().lower(), limit) if encoding else whole


def _decoded(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding == "identity":
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise GatewayError(f"Content-Encoding {encoding!r} is not supported; send gzip, deflate or none",
                           status_code=415, error_type="invalid_request_error", code="unsupported_encoding")
    decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header, detected
    try:
        decoded = decoder.decompress(body, limit + 1)
    except zlib.error:
        raise InvalidRequest(f"the request body is not valid {encoding} data") from None
    if len(decoded) > limit or decoder.unconsumed_tail:
        raise PayloadTooLarge("request body is too large once decompressed")
    return decoded


async def send_bytes(send: Send, status: int, media_type: str, body: bytes,
                     headers: Mapping[str, str] | None = None) -> None:
    raw_headers = [(b"content-type", media_type.encode("latin-1")),
                   (b"content-length", str(len(body)).encode())]
    if headers:
        raw_headers += [(name.lower().encode("latin-1"), value.encode("latin-1"))
                        for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_json(send: Send, status: int, document: Any, headers: Mapping[str, str] | None = None) -> None:
    await send_bytes(send, status, "application/json", _encode_json(document), headers)


_STREAM_HEADERS = [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


async def start_stream(send: Send, status: int, media_type: str = "text/event-stream",
                       extra: Mapping[str, str] | None = None) -> None:
    headers = [(b"content-type", media_type.encode("latin-1")), *_STREAM_HEADERS]
    if extra:
        headers += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})


def method_not_allowed(method: str, path: str) -> GatewayError:
    return GatewayError(f"Method {method} is not allowed on {path}", status_code=405,
                        error_type="invalid_request_error", headers={"Allow": "POST"})
