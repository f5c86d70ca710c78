"""Connection hygiene for ``oneapi serve``: slow, idle and surplus connections are shed.

uvicorn closes a connection only once it has sat idle *after* a response
(``timeout_keep_alive``). A connection that never sends a request, or sends its headers a
byte at a time (slowloris), was kept for ever, and with no cap on connections about
20,000 idle sockets (the open-file limit) made the gateway refuse everyone, health
checks included (issue 14). The HTTP protocol class built here adds to uvicorn's own:

- **A header deadline** (``HEADER_TIMEOUT``): a request's head must be complete within that
  many seconds of the connection opening, or of the first byte of a later request on a
  kept-alive connection; otherwise the connection is closed. Bodies and streamed answers
  are not timed by it.
- **A keep-alive idle timeout** (``KEEP_ALIVE_TIMEOUT``, uvicorn's ``timeout_keep_alive``):
  the default, 75 s, outlasts the idle timeout of common load balancers (60 s on AWS's), so
  a balancer never reuses a connection the gateway is closing.
- **A bound on the head's size** (:data:`MAX_HEADER_BYTES`, request line plus headers):
  a larger head is answered 431 and closed. With h11, uvicorn's parser when httptools is
  missing, h11's own bound refuses (400) a head still incomplete past that size; one that
  arrives whole in a single read (at most 256 KiB) is accepted.
- **A cap on open connections** (``MAX_CONNECTIONS``, lowered to three quarters of the
  open-file limit when that is smaller): a connection opened beyond it answers its request
  with a 503 in the caller's shape (one-api's envelope on ``/api``, OpenAI's error
  elsewhere) and is closed. ``GET /healthz`` is still answered on it, so a platform's
  health check does not restart a gateway that is only busy. uvicorn's
  ``limit_concurrency`` is not used: it answers a plain-text 503 to every request,
  ``/healthz`` included, and counts requests in flight as well as connections.

The open-file soft limit is raised to the hard limit at start, as Go's runtime does for
one-api, so the cap rather than the kernel decides when to shed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from oneapi.errors import ServiceUnavailable

if TYPE_CHECKING:
    from asyncio import TimerHandle

    from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope

__all__ = ("MAX_HEADER_BYTES", "connection_cap", "http_protocol", "websocket_protocol")

log = logging.getLogger("oneapi.connections")

MAX_HEADER_BYTES = 32 * 1024  # request line plus headers; nginx's default buffers hold the same
_HEALTH_PATH = "/healthz"
_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
              b"content-length: 39\r\nconnection: close\r\n\r\nrequest line and headers are too large\n")


def connection_cap(configured: int) -> int:
    """``configured``, or less when the open-file limit (raised to its hard limit first) is lower."""
    try:
        import resource
    except ImportError:  # not POSIX: the platform sets the limits
        return configured
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or configured <= soft * 3 // 4:
        return configured
    cap = max(soft * 3 // 4, 1)
    log.warning("MAX_CONNECTIONS=%d is above what the open-file limit (%d) allows; using %d",
                configured, soft, cap)
    return cap


class _Hygiene:
    """Mixed into uvicorn's HTTP protocol (httptools or h11); attributes below are uvicorn's.

    The work is done per read and per request, not per header: the head's bytes are
    counted as they are received (before the parser sees them, so an oversized head never
    reaches the app), from the end of one message to the next one's headers, and the head
    deadline is armed only while a head is incomplete after a read. A head that arrives
    whole in one read, as nearly all do, costs no timer; per-header parser callbacks and a
    timer per request cost about 8 % of a relayed request's CPU.
    """

    header_timeout: float
    max_connections: int
    head_limit: int  # bytes of request line and headers; 0: the parser bounds heads (h11)
    # uvicorn's
    app: ASGI3Application
    connections: set[Any]
    transport: asyncio.Transport
    cycle: Any
    loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]  # uvicorn's method, after this mixin in the MRO
        self._head_deadline: TimerHandle | None = None
        self._head_bytes = 0  # of the head being received
        self._reading_head = True  # the next bytes start or continue a request's head
        if len(self.connections) > self.max_connections:
            self.app = _over_capacity(self.app)
        self._start_head_deadline()

    def data_received(self, data: bytes) -> None:
        counting = self._reading_head and self.head_limit
        if counting:
            room = self.head_limit - self._head_bytes
            if len(data) > room and not _head_ends(data, room, self._head_bytes > 0):
                self._refuse_head()
                return
            self._head_bytes += len(data)
        super().data_received(data)  # type: ignore[misc]  # uvicorn's method, after this mixin in the MRO
        if counting and self._reading_head and self._head_bytes > self.head_limit:
            self._refuse_head()  # still incomplete, and over the bound
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete:  # the head is still incomplete
            if self._head_deadline is None and not self.transport.is_closing():
                self._start_head_deadline()
        elif self._head_deadline is not None:
            self._stop_head_deadline()

    # httptools' callbacks, once a request each: the head is counted from a message's end
    # to the next message's headers, so a body is never counted
    def on_headers_complete(self) -> None:
        self._reading_head, self._head_bytes = False, 0
        super().on_headers_complete()  # type: ignore[misc]  # uvicorn's method, after this mixin in the MRO

    def on_message_complete(self) -> None:
        self._reading_head = True
        super().on_message_complete()  # type: ignore[misc]  # uvicorn's method, after this mixin in the MRO

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_deadline()
        super().connection_lost(exc)  # type: ignore[misc]  # uvicorn's method, after this mixin in the MRO

    def _refuse_head(self) -> None:
        self._stop_head_deadline()
        self.transport.write(_TOO_LARGE)
        self.transport.close()

    def _between_requests(self) -> bool:
        return self.cycle is None or bool(self.cycle.response_complete)

    def _start_head_deadline(self) -> None:
        self._stop_head_deadline()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _stop_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self._between_requests() and not self.transport.is_closing():
            self.transport.close()


def _head_ends(data: bytes, room: int, continued: bool) -> bool:
    """Whether a head's blank line ends within the first ``room`` bytes of ``data``.

    A blank line split across reads (``continued``: the head began in an earlier read)
    shows as ``data`` starting with the rest of it; anything else over the limit is
    refused, a head still incomplete included.
    """
    if room < 0:
        return False
    if continued and data.startswith((b"\n", b"\r\n")):
        return True
    return data.find(b"\r\n\r\n", 0, room + 4) >= 0 or data.find(b"\n\n", 0, room + 2) >= 0


def _over_capacity(app: ASGI3Application) -> ASGI3Application:
    """The app for a connection opened beyond the cap: 503 and close, except ``/healthz``."""

    async def answer(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http" or scope["path"] == _HEALTH_PATH:
            await app(scope, receive, send)
            return
        error = ServiceUnavailable("the gateway has too many open connections; try again shortly",
                                   code="too_many_connections")
        path = scope["path"]
        if path == "/api" or path.startswith("/api/"):
            shaped: dict[str, Any] = {"success": False, "message": error.message, "data": None}
        else:
            shaped = error.openai_body()
        body = json.dumps(shaped).encode()
        await send({"type": "http.response.start", "status": error.status_code,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()), (b"retry-after", b"1"),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return answer


def http_protocol(header_timeout: float, max_connections: int) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools when installed, else h11) with the rules above."""
    base: type[asyncio.Protocol]
    head_limit = MAX_HEADER_BYTES
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base

        head_limit = 0  # h11 bounds incomplete heads itself (h11_max_incomplete_event_size)
    rules = {"header_timeout": header_timeout, "max_connections": max_connections, "head_limit": head_limit}
    return type("HygienicHTTPProtocol", (_Hygiene, base), rules)


def websocket_protocol(**kwargs: Any) -> asyncio.Protocol:
    """uvicorn's WebSocket protocol (the one its ``ws="auto"`` picks with ``websockets``
    installed), imported by the first upgrade rather than at start.

    Only ``/v1/realtime`` upgrades, and importing it at start cost every boot 12-14 ms of
    CPU (a tenth of a second of a 0.1-CPU free instance's first visitor). uvicorn's own
    ``auto`` choice is typed as such a callable; it is called with the same keywords.
    """
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    return WebSocketsSansIOProtocol(**kwargs)
