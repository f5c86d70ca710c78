"""Cloudflare Workers AI's OpenAI-compatible endpoints played on 127.0.0.1.

``/client/v4/accounts/{account}/ai/v1/chat/completions`` and ``.../embeddings`` answer as
the OpenAI mock does, for the account :data:`ACCOUNT` and the API token :data:`TOKEN` only;
anything else is Cloudflare's ``{"success": false, "errors": [...]}`` body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from tests.support.upstreams import OpenAIUpstream

__all__ = ("ACCOUNT", "TOKEN", "CloudflareUpstream")

ACCOUNT = "d8d7c61dbc334c32d3ced580e4bf42b4"
TOKEN = "cf-api-token-mock"


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"success": False, "result": None, "messages": [],
                              "errors": [{"code": code, "message": message}]}, status=status)


class CloudflareUpstream(OpenAIUpstream):
    def routes(self) -> list[web.RouteDef]:
        prefix = "/client/v4/accounts/{account}/ai/v1"
        return [web.post(f"{prefix}/chat/completions", self._guard(self.chat)),
                web.post(f"{prefix}/embeddings", self._guard(self.embeddings))]

    @staticmethod
    def _guard(handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
               ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if request.match_info["account"] != ACCOUNT:
                return _error(404, 7003, "Could not route to /client/v4/accounts, perhaps your object "
                                         "identifier is invalid?")
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return _error(401, 10000, "Authentication error")
            return await handler(request)

        return guarded
