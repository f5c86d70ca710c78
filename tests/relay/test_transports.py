"""The two upstream transports keep the same contract: time limits, errors, reads.

The aiohttp transport against a local aiohttp server (its one timer per request: the
first-byte limit, then the idle limit over whole and streamed reads), and the in-memory
one against handlers that play the same situations. In a process of its own, that importing
the transport leaves aiohttp's import-time TLS contexts without CAs (oneapi.relay.upstream.tls).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web

from oneapi.errors import (
    UpstreamConnectError,
    UpstreamFirstByteTimeout,
    UpstreamIdleTimeout,
    UpstreamProtocolError,
)
from oneapi.relay.upstream import (
    AiohttpTransport,
    MemoryAnswer,
    MemoryTransport,
    TimeLimits,
    UpstreamRequest,
    UpstreamTransport,
)
from oneapi.relay.upstream.tls import context_for
from tests.support.upstreams import dead_url

ROOT = Path(__file__).resolve().parents[2]

LIMITS = TimeLimits(connect=1, first_byte=0.3, idle=0.3)


async def _hang(_request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(2)
    return web.Response(text="late")


async def _whole(request: web.Request) -> web.Response:
    return web.Response(body=b"x" * 100_000, headers={"X-Echo": request.headers.get("X-Echo", "")})


async def _head_then_stall(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Length": "10"})
    await response.prepare(request)
    await response.write(b"12345")
    await asyncio.sleep(2)
    return response


async def _slow_chunks(request: web.Request) -> web.StreamResponse:
    """Chunks 0.2 s apart: each gap under the idle limit, the whole over it."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for number in range(4):
        await response.write(f"data: {number}\n\n".encode())
        await asyncio.sleep(0.2)
    return response


async def _cut(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Length": "100"})
    await response.prepare(request)
    await response.write(b"partial")
    assert request.transport is not None
    request.transport.close()
    return response


@pytest.fixture
async def aiohttp_transport() -> AsyncIterator[tuple[AiohttpTransport, str]]:
    app = web.Application()
    app.router.add_routes([web.get("/hang", _hang), web.get("/whole", _whole),
                           web.get("/stall", _head_then_stall), web.get("/slow", _slow_chunks),
                           web.get("/cut", _cut)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    transport = AiohttpTransport()
    settings = SimpleNamespace(relay_max_connections=10, relay_connect_timeout=LIMITS.connect,
                               relay_first_byte_timeout=LIMITS.first_byte, relay_idle_timeout=LIMITS.idle,
                               relay_timeout=0)
    transport.open(settings)  # type: ignore[arg-type]
    try:
        yield transport, f"http://127.0.0.1:{port}"
    finally:
        await transport.stop()
        await runner.cleanup()


async def _timed(transport: UpstreamTransport, url: str, *, stream: bool = False) -> tuple[float, bytes]:
    started = asyncio.get_running_loop().time()
    response = await transport.send("GET", url, {"X-Echo": "yes"}, None)
    try:
        if stream:
            body = b"".join([chunk async for chunk in response.iter_chunks()])
        else:
            body = await response.read()
    finally:
        response.close()
    return asyncio.get_running_loop().time() - started, body


async def test_aiohttp_reads_whole_and_streamed_bodies(
        aiohttp_transport: tuple[AiohttpTransport, str]) -> None:
    transport, base = aiohttp_transport
    response = await transport.send("GET", f"{base}/whole", {"X-Echo": "yes"}, None)
    assert response.status == 200 and response.headers["x-echo"] == "yes"
    assert await response.read() == b"x" * 100_000
    elapsed, body = await _timed(transport, f"{base}/slow", stream=True)
    assert body == b"".join(f"data: {n}\n\n".encode() for n in range(4))
    assert elapsed > LIMITS.idle  # gaps under the limit add up past it: no timeout


async def test_aiohttp_time_limits(aiohttp_transport: tuple[AiohttpTransport, str]) -> None:
    transport, base = aiohttp_transport
    with pytest.raises(UpstreamFirstByteTimeout):
        await asyncio.wait_for(transport.send("GET", f"{base}/hang", {}, None), 3)
    with pytest.raises(UpstreamIdleTimeout):
        await asyncio.wait_for(_timed(transport, f"{base}/stall"), 3)
    with pytest.raises(UpstreamIdleTimeout):
        await asyncio.wait_for(_timed(transport, f"{base}/stall", stream=True), 3)
    unread = await transport.send("GET", f"{base}/whole", {}, None)
    await asyncio.sleep(LIMITS.idle + 0.1)  # an answer nobody reads is closed at the idle limit
    with pytest.raises(UpstreamIdleTimeout):
        await unread.read()
    longer = TimeLimits(connect=1, first_byte=1, idle=1)
    started = asyncio.get_running_loop().time()
    with pytest.raises(UpstreamFirstByteTimeout, match="within 1 s"):
        await transport.send("GET", f"{base}/hang", {}, None, longer)
    assert asyncio.get_running_loop().time() - started >= 0.95


async def test_aiohttp_errors(aiohttp_transport: tuple[AiohttpTransport, str]) -> None:
    transport, base = aiohttp_transport
    with pytest.raises(UpstreamConnectError):
        await transport.send("GET", dead_url(), {}, None)
    with pytest.raises(UpstreamProtocolError):
        await _timed(transport, f"{base}/cut")


async def test_aiohttp_a_caller_s_cancellation_stays_a_cancellation(
        aiohttp_transport: tuple[AiohttpTransport, str]) -> None:
    transport, base = aiohttp_transport
    task = asyncio.ensure_future(transport.send("GET", f"{base}/hang", {}, None))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):  # not turned into a first-byte timeout
        await task


async def test_memory_transport_keeps_the_same_limits() -> None:
    async def hang(_request: UpstreamRequest) -> MemoryAnswer:
        await asyncio.sleep(5)
        return MemoryAnswer()

    async def stall() -> AsyncIterator[bytes]:
        yield b"first"
        await asyncio.sleep(5)

    with pytest.raises(UpstreamFirstByteTimeout):
        await MemoryTransport(hang, LIMITS).send("POST", "http://x/", {}, b"{}")
    transport = MemoryTransport(lambda _request: MemoryAnswer(201, {"Content-Type": "text/plain"}, stall()),
                                LIMITS)
    response = await transport.send("POST", "http://x/", {"A": "b"}, b"{}")
    assert response.status == 201 and response.content_type == "text/plain"
    chunks = response.iter_chunks()
    assert await anext(chunks) == b"first"
    with pytest.raises(UpstreamIdleTimeout):
        await anext(chunks)
    assert transport.requests[0].headers == {"A": "b"} and transport.requests[0].body == b"{}"


_IMPORT_PROBE = """
import ssl
import oneapi.relay.upstream  # the first import of aiohttp in this process
import aiohttp.connector

assert aiohttp.connector._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"] == 0, "aiohttp loaded the CAs"
assert aiohttp.connector._SSL_CONTEXT_UNVERIFIED.cert_store_stats()["x509_ca"] == 0, "aiohttp loaded the CAs"
assert "set_default_verify_paths" not in vars(ssl.SSLContext), "ssl is left patched"
assert ssl.create_default_context().cert_store_stats()["x509_ca"] > 0  # later contexts load them
print("ok")
"""


def test_importing_the_transport_loads_no_ca() -> None:
    """aiohttp's import-time contexts hold no CA (470 M instructions of ``import app`` saved); the
    relay never uses them (``tests/relay/test_tls_upstream.py`` relays to HTTPS vendors)."""
    done = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_every_tls_scheme_gets_the_verifying_context() -> None:
    """https:// (the relay) and wss:// (the Realtime API's upstream socket) both verify; plain ones
    leave aiohttp's default, which TLS never reaches, and build no context."""
    for url in ("https://api.openai.com/v1/chat/completions", "wss://api.openai.com/v1/realtime"):
        context = context_for(url)
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context_for("https://example.com/") is context_for("wss://example.com/")  # built once
    assert context_for("http://127.0.0.1:8000/v1") is True and context_for("ws://127.0.0.1/") is True
