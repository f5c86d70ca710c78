"""Minimal Litestar pass-throughs, one per HTTP client transport, to pick the relay's.

    python bench/transports.py {aiohttp|httpx|httpx-aiohttp} PORT UPSTREAM_PORT

Each forwards ``POST /v1/chat/completions`` (streams included) to the upstream with one
shared pooled client and nothing else, so the difference between them is the transport.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from litestar import Litestar, Request, Response, post
from litestar.response import Stream


def build(kind: str, upstream: str) -> Litestar:
    state: dict[str, Any] = {}

    async def startup() -> None:
        if kind == "aiohttp":
            import aiohttp

            state["client"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))
        else:
            import httpx

            limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
            if kind == "httpx":
                state["client"] = httpx.AsyncClient(limits=limits, timeout=None)
            else:
                from httpx_aiohttp import AiohttpTransport

                state["client"] = httpx.AsyncClient(transport=AiohttpTransport(), limits=limits, timeout=None)

    @post("/v1/chat/completions")
    async def relay(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.body()
        headers = {"Content-Type": "application/json"}
        client = state["client"]
        streaming = b'"stream": true' in body or b'"stream":true' in body
        if kind == "aiohttp":
            upstream_response = await client.post(upstream, data=body, headers=headers)
            if streaming:
                async def chunks() -> AsyncIterator[bytes]:
                    async for chunk in upstream_response.content.iter_any():
                        yield chunk
                return Stream(chunks(), media_type="text/event-stream")
            return Response(await upstream_response.read(), media_type="application/json")
        sent = client.build_request("POST", upstream, content=body, headers=headers)
        upstream_response = await client.send(sent, stream=streaming)
        if streaming:
            async def parts() -> AsyncIterator[bytes]:
                async for chunk in upstream_response.aiter_raw():
                    yield chunk
                await upstream_response.aclose()
            return Stream(parts(), media_type="text/event-stream")
        return Response(upstream_response.content, media_type="application/json")

    return Litestar([relay], on_startup=[startup])


if __name__ == "__main__":
    kind, port, upstream_port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    uvicorn.run(build(kind, f"http://127.0.0.1:{upstream_port}/v1/chat/completions"), host="127.0.0.1",
                port=port, log_level="warning", access_log=False, loop="uvloop", http="httptools")
