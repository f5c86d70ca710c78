"""The outermost ASGI app: request ids, request metrics, CORS for the relay, a fast lane.

Every HTTP request gets an ``X-Oneapi-Request-Id`` (also in its log lines) and is counted
in the metrics once its response ends. The relay's paths (``/v1``, ``/v1beta``) answer
browsers from any origin, as one-api's CORS middleware does, so chat front ends running in
a browser can call the gateway with a key; their preflight ``OPTIONS`` is answered here.
The management API (``/api``) gets no CORS headers: only the gateway's own pages call it.

A ``POST`` to one of the relay's paths then goes straight to the relay; everything else
(relay paths with other methods included, which Litestar answers with 405) goes to the
Litestar app. The lane exists for speed: Litestar's router, middleware stack and
exception middleware cost about a tenth of a relayed request's CPU time (``bench/``), and
the relay needs none of them. Errors on the lane are rendered here in the client's dialect
(``oneapi.errors.render_relay_error``), as Litestar's handlers render them elsewhere.
``HEAD /`` is answered 200 here: Claude Code probes the base URL with it before its first call,
and a relay-only process has no page at ``/``.

Built by the app factory, the edge also runs the ASGI lifespan (starting and stopping the
runtime) and answers ``GET /healthz`` itself, and builds the Litestar app (the management
API, the web UI, the relay's GET routes and other formats) on the first request that needs
it. A relay process thus boots and serves without importing Litestar at all: that saved
about a third of the boot and 20 MB of idle memory (``bench/boot.py``), and the first
management or web request pays it once. The app's routes are then registered by area, each
by the first request that falls in it (:mod:`oneapi.console`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from random import getrandbits
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from oneapi.errors import GatewayError, InternalError, render_relay_error
from oneapi.log import request_id_var
from oneapi.relay.asgi import ClientDisconnected, send_bytes, send_json

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.datastructures import State
    from litestar.types import HTTPScope, Message, Receive, Scope, Send

    from oneapi.console import Console
    from oneapi.metrics import Metrics
    from oneapi.runtime import Runtime

__all__ = ("REQUEST_ID_HEADER", "Edge", "Lane", "new_request_id")

log = logging.getLogger("oneapi.edge")

REQUEST_ID_HEADER = "X-Oneapi-Request-Id"
_REQUEST_ID_HEADER = REQUEST_ID_HEADER.lower().encode()
_EVENT_STREAM = b"text/event-stream"
_CORS_PREFIXES = ("/v1/", "/v1beta/")
_ALLOW_ANY_ORIGIN = (b"access-control-allow-origin", b"*")
_PREFLIGHT_HEADERS = [_ALLOW_ANY_ORIGIN, (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                      (b"access-control-max-age", b"86400")]
_HEALTHZ = b'{"status":"ok"}'

Lane = Callable[["Scope", "Receive", "Send"], Awaitable[None]]


_stamp: list[str | int] = ["", -1]  # the formatted current second, and that second


def new_request_id() -> str:
    """One API's shape: a timestamp then random digits, sortable by time (not a secret)."""
    now = int(time.time())
    if now != _stamp[1]:
        _stamp[:] = [time.strftime("%Y%m%d%H%M%S", time.gmtime(now)), now]
    return f"{_stamp[0]}{getrandbits(32):08x}"


class Edge:
    """Wraps the Litestar app; ``state`` and ``litestar`` reach the app behind it.

    Given ``app``, the edge passes it the lifespan. Given ``runtime`` and ``build`` instead,
    the edge runs the lifespan itself and calls ``build`` (which returns the console and the
    runtime components that came with it) on the first request the lanes do not answer.
    """

    def __init__(self, app: Litestar | None, metrics: Metrics, lanes: Mapping[str, Lane], *,
                 runtime: Runtime | None = None,
                 build: Callable[[], tuple[Console, list[Any]]] | None = None) -> None:
        self._litestar = app
        self._console: Console | None = None
        self._runtime = runtime
        self._build = build
        self._state = SimpleNamespace(runtime=runtime)
        self.metrics = metrics
        self.lanes = dict(lanes)

    @property
    def state(self) -> State | SimpleNamespace:
        """``state.runtime``, whether or not the Litestar app has been built yet."""
        return self._litestar.state if self._litestar is not None else self._state

    def load(self) -> Litestar:
        """The Litestar app, built now if it has not been (its components start with the runtime);
        its routes are registered by the requests that need them."""
        if self._litestar is None:
            assert self._runtime is not None
            self._runtime.components.extend(self._build_console())
        assert self._litestar is not None
        return self._litestar

    @property
    def litestar(self) -> Litestar:
        """The Litestar app with all its routes, built now if it has not been."""
        app = self.load()
        return self._console.complete() if self._console is not None else app

    def _build_console(self) -> list[Any]:
        """Build the console; return the runtime components that came with it."""
        assert self._build is not None
        self._console, components = self._build()
        self._litestar = self._console.app
        return components

    async def _app(self, scope: Scope) -> Litestar:
        if self._litestar is None:
            assert self._runtime is not None
            started = time.perf_counter()
            for component in self._build_console():
                await self._runtime.attach(component)
            log.info("management API and web UI loaded in %.0f ms (their routes register on first use)",
                     (time.perf_counter() - started) * 1000)
        if self._console is not None:
            return self._console.open_for(scope)
        assert self._litestar is not None
        return self._litestar

    async def __call__(self, whole_scope: Scope, receive: Receive, send: Send) -> None:
        if whole_scope["type"] == "lifespan" and self._runtime is not None:
            await _run_lifespan(self._runtime, receive, send)
            return
        if whole_scope["type"] != "http":
            await (await self._app(whole_scope))(whole_scope, receive, send)  # websockets
            return
        # litestar types the scope's "type" as an enum member, which a str comparison does not narrow
        scope = cast("HTTPScope", whole_scope)
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        id_slot = request_id_var.set(request_id)
        id_header = (_REQUEST_ID_HEADER, request_id.encode())
        extra_headers = [id_header]
        if scope["path"].startswith(_CORS_PREFIXES):
            if scope["method"] == "OPTIONS":
                request_id_var.reset(id_slot)
                await _answer_preflight(scope, send, id_header)
                return
            extra_headers.append(_ALLOW_ANY_ORIGIN)
        elif scope["method"] == "HEAD" and scope["path"] == "/":
            request_id_var.reset(id_slot)
            await send({"type": "http.response.start", "status": 200, "headers": [id_header]})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        metrics = self.metrics
        labels, labels_slot = metrics.request_started()
        status = 0
        streamed = False

        async def send_observed(message: Message) -> None:
            nonlocal status, streamed
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message["headers"] = [*message.get("headers", ()), *extra_headers]
                for name, value in headers:
                    if name == b"content-type" and value.startswith(_EVENT_STREAM):
                        streamed = True
                        metrics.stream_started()
                        break
            await send(message)

        lane = self.lanes.get(scope["path"]) if scope["method"] == "POST" else None
        try:
            if lane is None:
                if scope["path"] == "/healthz" and scope["method"] == "GET" and self._runtime is not None:
                    await send_bytes(send_observed, 200, "application/json", _HEALTHZ)
                    scope["path_template"] = "/healthz"
                else:
                    await (await self._app(scope))(scope, receive, send_observed)
            else:
                scope["path_template"] = scope["path"]
                try:
                    await lane(scope, receive, send_observed)
                except ClientDisconnected:
                    status = status or 499  # nginx's code for a client that left; nothing to answer
                except Exception as exc:
                    error = exc if isinstance(exc, GatewayError) else _unexpected(scope)
                    if status:
                        log.warning("relay failed after its answer began: %s", error.message)
                    else:
                        code, body = render_relay_error(error, scope["path"])
                        await send_json(send_observed, code, body, error.headers)
        finally:
            request_id_var.reset(id_slot)
            metrics.request_ended(scope.get("path_template") or "other", labels, status or 500, streamed,
                                  labels_slot)


async def _run_lifespan(runtime: Runtime, receive: Receive, send: Send) -> None:
    """The ASGI lifespan protocol: start the runtime at startup, stop it at shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await runtime.start()
            except Exception as exc:
                log.exception("startup failed")
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await runtime.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _answer_preflight(scope: HTTPScope, send: Send, id_header: tuple[bytes, bytes]) -> None:
    """204 for a browser's CORS preflight: any origin, the relay's methods, the headers it asks for."""
    asked = next((value for name, value in scope["headers"] if name == b"access-control-request-headers"),
                 b"authorization, content-type")
    headers = [id_header, *_PREFLIGHT_HEADERS, (b"access-control-allow-headers", asked)]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _unexpected(scope: HTTPScope) -> GatewayError:
    log.exception("unhandled error on %s %s", scope["method"], scope["path"])
    return InternalError()
