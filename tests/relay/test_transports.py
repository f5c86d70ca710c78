"""The two upstream transports keep the same contract: time limits, errors, reads.

The aiohttp transport against a local aiohttp server (its one timer per request: the
first-byte limit, then the idle limit over whole and streamed reads), and the in-memory
one against handlers that play the same situations. Over TLS, in a process of its own:
the gateway's own context verifies (oneapi.relay.upstream.tls) while aiohttp's import-time
contexts load no CA.
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
import trustme
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


_TLS_PROBE = """
import asyncio, ssl, sys
from types import SimpleNamespace
from oneapi.relay.upstream import AiohttpTransport  # the first import of aiohttp in this process
from oneapi.errors import UpstreamConnectError
from oneapi.relay.upstream import tls
import aiohttp.connector
from aiohttp import web

assert aiohttp.connector._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"] == 0, "aiohttp loaded the CAs"
assert "set_default_verify_paths" not in vars(ssl.SSLContext), "ssl is left patched"
assert ssl.create_default_context().cert_store_stats()["x509_ca"] == 1  # SSL_CERT_FILE: the trusted CA

async def main():
    async def hello(_request):
        return web.Response(text="hello over TLS")
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    ports = {}
    for name, (cert, key) in {"trusted": sys.argv[1:3], "untrusted": sys.argv[3:5]}.items():
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(cert, key)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
        await site.start()
        ports[name] = site._server.sockets[0].getsockname()[1]
    transport = AiohttpTransport()
    transport.open(SimpleNamespace(relay_max_connections=4, relay_connect_timeout=2,
                                   relay_first_byte_timeout=2, relay_idle_timeout=2, relay_timeout=0))
    try:
        assert tls.context_for("http://localhost/") is True and tls._client_context.cache_info().currsize == 0
        answer = await transport.send("GET", f"https://localhost:{ports['trusted']}/", {}, None)
        assert answer.status == 200 and await answer.read() == b"hello over TLS"
        answer.close()
        try:
            await transport.send("GET", f"https://localhost:{ports['untrusted']}/", {}, None)
        except UpstreamConnectError as exc:
            print("refused:", exc)
        else:
            raise AssertionError("a certificate from an unknown CA was accepted")
    finally:
        await transport.stop()
        await runner.cleanup()
    print("ok")

asyncio.run(main())
"""


def test_aiohttp_verifies_tls_with_the_gateway_s_own_context(tmp_path: Path) -> None:
    """aiohttp's import-time contexts hold no CA (470 M instructions of ``import app`` saved) and are
    never used: an upstream whose CA the system trusts answers over TLS, one another CA signed is refused."""
    trusted, other = trustme.CA(), trustme.CA()
    files = []
    for name, ca in {"trusted": trusted, "untrusted": other}.items():
        issued = ca.issue_cert("localhost")
        cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
        issued.cert_chain_pems[0].write_to_path(str(cert))
        issued.private_key_pem.write_to_path(str(key))
        files += [str(cert), str(key)]
    trusted.cert_pem.write_to_path(str(tmp_path / "system-cas.pem"))
    env = {**os.environ, "SSL_CERT_FILE": str(tmp_path / "system-cas.pem"), "SSL_CERT_DIR": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _TLS_PROBE, *files], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refused: cannot reach the upstream: ClientConnectorCertificateError" in done.stdout
    assert done.stdout.strip().endswith("ok")


def test_every_tls_scheme_gets_the_verifying_context() -> None:
    """https:// (the relay) and wss:// (the Realtime API's upstream socket) both verify; plain ones
    leave aiohttp's default, which TLS never reaches, and build no context."""
    for url in ("https://api.openai.com/v1/chat/completions", "wss://api.openai.com/v1/realtime"):
        context = context_for(url)
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context_for("https://example.com/") is context_for("wss://example.com/")  # built once
    assert context_for("http://127.0.0.1:8000/v1") is True and context_for("ws://127.0.0.1/") is True
