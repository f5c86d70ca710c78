"""Connection hygiene against ``python app.py``: floods of idle and slowloris sockets are shed,
``/healthz`` keeps answering, surplus connections get a clear 503, oversized heads a 431.

Everything stays on loopback and is bounded in count (a few thousand sockets) and time.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from oneapi.connections import MAX_HEADER_BYTES, connection_cap, http_protocol
from tests.support.gateway import GatewayProcess, free_port, run_gateway

HEADER_TIMEOUT = 3.0
KEEP_ALIVE_TIMEOUT = 2


def _env(**extra: str) -> dict[str, str]:
    return {"HEADER_TIMEOUT": str(HEADER_TIMEOUT), "KEEP_ALIVE_TIMEOUT": str(KEEP_ALIVE_TIMEOUT), **extra}


def _address(gateway: GatewayProcess) -> tuple[str, int]:
    return "127.0.0.1", int(gateway.base_url.rsplit(":", 1)[1])


def _open_fds(gateway: GatewayProcess) -> int:
    return len(os.listdir(f"/proc/{gateway.process.pid}/fd"))


def _wait_accepted(gateway: GatewayProcess, descriptors: int) -> None:
    """Until the gateway holds ``descriptors`` open files (connect() returns before accept())."""
    deadline = time.monotonic() + 5
    while _open_fds(gateway) < descriptors and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _open_fds(gateway) >= descriptors


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(4096) == b"" or _drained_then_closed(sock)
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def _drained_then_closed(sock: socket.socket) -> bool:
    """A socket that got bytes (an answer) first: closed if only the end of stream follows."""
    try:
        while chunk := sock.recv(4096):
            del chunk
        return True
    except BlockingIOError:
        return False


@contextmanager
def _sockets(address: tuple[str, int], count: int) -> Iterator[list[socket.socket]]:
    opened = []
    try:
        for _ in range(count):
            opened.append(socket.create_connection(address, timeout=5))
        yield opened
    finally:
        for sock in opened:
            sock.close()


def _ask_healthz(sock: socket.socket) -> bytes:
    """One request on an open connection; the whole answer (its head names the body's length)."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    length = int(next(line.split(b":")[1] for line in lines if line.startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(4096)
    return answer


def _healthz_answers(gateway: GatewayProcess) -> float:
    started = time.perf_counter()
    response = httpx.get(f"{gateway.base_url}/healthz", timeout=5)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    return time.perf_counter() - started


def test_idle_and_slowloris_floods_are_shed_while_healthz_answers(tmp_path: Path) -> None:
    with run_gateway(tmp_path, _env()) as gateway:
        address = _address(gateway)
        baseline = _open_fds(gateway)
        stop = threading.Event()
        with _sockets(address, 2000) as idle, _sockets(address, 200) as slow:
            for sock in slow:
                sock.sendall(b"GET /api/status HTTP/1.1\r\nHost: x\r\n")

            def trickle() -> None:  # one more header byte on each slow socket every 0.5 s
                while not stop.wait(0.5):
                    for sock in slow:
                        with contextlib.suppress(OSError):
                            sock.send(b"X")

            sender = threading.Thread(target=trickle, daemon=True)
            sender.start()
            _wait_accepted(gateway, baseline + 2000)
            started = time.monotonic()
            waits = [_healthz_answers(gateway) for _ in range(10)]
            assert max(waits) < 2.0, waits
            status = httpx.get(f"{gateway.base_url}/api/status", timeout=5).json()
            assert status["success"] is True

            time.sleep(max(0.0, started + HEADER_TIMEOUT + 2 - time.monotonic()))
            stop.set()
            sender.join()
            assert sum(_closed_by_server(sock) for sock in idle) == len(idle)
            assert sum(_closed_by_server(sock) for sock in slow) == len(slow)
        assert _open_fds(gateway) <= baseline + 20
        _healthz_answers(gateway)


def test_a_kept_alive_connection_closes_when_idle(tmp_path: Path) -> None:
    with run_gateway(tmp_path, _env()) as gateway, _sockets(_address(gateway), 1) as (sock,):
        assert _ask_healthz(sock).startswith(b"HTTP/1.1 200 ")
        time.sleep(KEEP_ALIVE_TIMEOUT - 1)  # still open a second before the idle timeout
        assert _ask_healthz(sock).startswith(b"HTTP/1.1 200 ")
        sock.settimeout(KEEP_ALIVE_TIMEOUT + 3)
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert KEEP_ALIVE_TIMEOUT - 0.5 < time.monotonic() - started < KEEP_ALIVE_TIMEOUT + 2


def test_connections_beyond_the_cap_get_a_clear_503(tmp_path: Path) -> None:
    with run_gateway(tmp_path, _env(MAX_CONNECTIONS="100")) as gateway, _sockets(_address(gateway), 120):
        _wait_accepted(gateway, 120)
        api = httpx.get(f"{gateway.base_url}/api/status", timeout=5)
        assert api.status_code == 503 and api.headers["connection"] == "close"
        assert api.headers["retry-after"] == "1"
        assert api.json() == {"success": False, "data": None,
                              "message": "the gateway has too many open connections; try again shortly"}
        relay = httpx.get(f"{gateway.base_url}/v1/models", timeout=5)
        assert relay.status_code == 503 and relay.json()["error"]["code"] == "too_many_connections"
        _healthz_answers(gateway)  # a platform's health check still passes
        time.sleep(HEADER_TIMEOUT + 1)  # the idle ones are shed
        assert httpx.get(f"{gateway.base_url}/api/status", timeout=5).status_code == 200


def test_oversized_request_heads_are_refused(tmp_path: Path) -> None:
    with run_gateway(tmp_path, _env()) as gateway:
        refused = httpx.get(f"{gateway.base_url}/healthz", headers={"X-Big": "a" * 40_000}, timeout=5)
        assert refused.status_code == 431
        fine = httpx.get(f"{gateway.base_url}/healthz", headers={"X-Big": "a" * 20_000}, timeout=5)
        assert fine.status_code == 200
        many = {f"X-H{i}": "b" * 100 for i in range(400)}  # 40 KB over many headers
        assert httpx.get(f"{gateway.base_url}/healthz", headers=many, timeout=5).status_code == 431
        _heads_counted_across_reads(gateway)


def _send_in_pieces(sock: socket.socket, data: bytes, piece: int) -> None:
    for start in range(0, len(data), piece):
        sock.sendall(data[start:start + piece])
        time.sleep(0.002)  # one read each on the gateway's side


def _heads_counted_across_reads(gateway: GatewayProcess) -> None:
    """Bytes are counted per read: a head in pieces, its blank line split, a body never counted."""
    lines = b"".join(b"X-H%d: %s\r\n" % (i, b"c" * 90) for i in range(300))  # about 30 KB
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n"
    assert len(head) < MAX_HEADER_BYTES
    with _sockets(_address(gateway), 1) as (sock,):
        _send_in_pieces(sock, head[:-3], 1000)
        sock.sendall(head[-3:-1])  # the blank line arrives split: "\n\r" then "\n"
        time.sleep(0.05)
        sock.sendall(head[-1:])
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
    with _sockets(_address(gateway), 1) as (sock,):  # over the bound and never finished
        _send_in_pieces(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + lines + lines[:4000], 1000)
        assert sock.recv(4096).startswith(b"HTTP/1.1 431 ")
    body = b"x" * 100_000  # a small head and a large body in one write: the body is not the head
    with _sockets(_address(gateway), 1) as (sock,):
        sock.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        assert not sock.recv(4096).startswith(b"HTTP/1.1 431 ")
    with _sockets(_address(gateway), 1) as (sock,):  # answered before its body is in
        sock.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n")
        answer = sock.recv(4096)
        _send_in_pieces(sock, b"y" * 100_000, 20_000)  # the rest of that body, not a head
        time.sleep(0.2)
        sock.settimeout(0.5)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            answer += sock.recv(4096)
        assert answer and b" 431 " not in answer


def test_the_cap_stays_below_the_open_file_limit() -> None:
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert connection_cap(100) == 100
    if soft != resource.RLIM_INFINITY:
        assert connection_cap(soft * 10) == soft * 3 // 4


def test_the_h11_fallback_sheds_idle_and_surplus_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without httptools uvicorn parses with h11; the same rules hold there."""
    import uvicorn

    monkeypatch.setitem(sys.modules, "uvicorn.protocols.http.httptools_impl", None)  # as if not installed
    protocol = http_protocol(header_timeout=1.0, max_connections=2)
    assert "H11Protocol" in [base.__name__ for base in protocol.__mro__]

    async def hello(scope: dict[str, object], receive: object, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(hello, host="127.0.0.1", port=port, http=protocol, lifespan="off",
                                           log_config=None, h11_max_incomplete_event_size=MAX_HEADER_BYTES))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        with _sockets(("127.0.0.1", port), 2) as (idle, slow):
            slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            surplus = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5)
            assert surplus.status_code == 503 and surplus.json()["error"]["code"] == "too_many_connections"
            time.sleep(1.5)
            assert _closed_by_server(idle) and _closed_by_server(slow)
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text == "ok"
        with _sockets(("127.0.0.1", port), 1) as (big,):  # a head still incomplete past the bound
            big.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 40_000)
            assert big.recv(4096).startswith(b"HTTP/1.1 400 ")  # h11's own bound, answered by uvicorn
    finally:
        server.should_exit = True
        thread.join(10)


_WEBSOCKET_PROBE = """
import sys
from uvicorn.config import Config
from uvicorn.server import ServerState
from oneapi.connections import websocket_protocol

config = Config(app=lambda scope, receive, send: None, ws=websocket_protocol, lifespan="off")
config.load()
impl = "uvicorn.protocols.websockets.websockets_sansio_impl"
loaded_at_start = impl in sys.modules
protocol = websocket_protocol(config=config, server_state=ServerState(), app_state={})
print(loaded_at_start, type(protocol).__module__ == impl)
"""


def test_the_websocket_protocol_is_imported_by_the_first_upgrade_not_at_start() -> None:
    """uvicorn loads its WebSocket protocol at start unless given a callable; ours imports it when
    called (the upgrade itself: ``tests/relay/channels/test_realtime.py`` through ``python app.py``)."""
    done = subprocess.run([sys.executable, "-c", _WEBSOCKET_PROBE], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.split() == ["False", "True"]
