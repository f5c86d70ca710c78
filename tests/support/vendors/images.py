"""A web server holding one image, for requests that point at a remote ``image_url``."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from aiohttp import web

from tests.support.upstreams import UpstreamServer

__all__ = ("PNG_BYTES", "ImageHost")

# A 1x1 transparent PNG.
PNG_BYTES = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6"
                             "kgAAAABJRU5ErkJggg==")


@dataclass
class ImageHost(UpstreamServer):
    name: str = "images"
    hits: list[str] = field(default_factory=list)  # paths asked for

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/cat.png", self.image), web.get("/huge.png", self.huge),
                web.get("/moved.png", self.moved), web.get("/loop.png", self.loop)]

    async def moved(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/cat.png")

    async def loop(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop.png")

    async def image(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.Response(body=PNG_BYTES, content_type="image/png")

    async def huge(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        for _ in range(64):
            await response.write(b"\0" * 65536)
        await response.write_eof()
        return response
