"""Raw ASGI middleware on every request; kept raw because it sits on the hot path."""

from __future__ import annotations

import os
import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from oneapi.log import request_id_var

__all__ = ("REQUEST_ID_HEADER", "RequestIdMiddleware", "new_request_id")

REQUEST_ID_HEADER = "X-Oneapi-Request-Id"
_HEADER_BYTES = REQUEST_ID_HEADER.lower().encode()


def new_request_id() -> str:
    """One API's shape: a timestamp then random digits, sortable by time."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + os.urandom(4).hex()


class RequestIdMiddleware:
    """Give each request an id, expose it as ``X-Oneapi-Request-Id`` and to log lines."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        header = (_HEADER_BYTES, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
