"""Two pieces of the relay's hot path timed alone, this checkout against another.

A whole-gateway run (``run.py``) on a shared machine spreads by 20-30 % between minutes,
more than a change of a few microseconds per request. This times, in CPU microseconds per
request, the two pieces every relayed request passes through outside the relay's own code:

* ``upstream``: the relay's upstream client sending a chat request to ``mock_upstream.py``
  (on the other core) and reading the answer, whole or streamed, 8 at a time;
* ``connections``: the connection hygiene around uvicorn's httptools protocol
  (:mod:`oneapi.connections`) taking a typical relay request and answering it with a
  trivial app, beside bare uvicorn.

Each measurement runs in its own process with the checkout's ``oneapi`` on the path,
pinned to core 0, the checkouts taking turns for ``--rounds`` rounds; the medians are
printed. ``--before`` is another checkout (``git archive <commit> | tar -x -C /tmp/before``).

    python bench/hotpath.py --before /tmp/before [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
REQUEST = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nUser-Agent: wrk\r\n"
           b"Authorization: Bearer sk-0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
           b"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: 80\r\n\r\n"
           + b"x" * 80)


async def _upstream(port: int, requests: int, stream: bool) -> float:
    from types import SimpleNamespace

    import oneapi.relay.upstream as upstream

    kind = getattr(upstream, "AiohttpTransport", None) or upstream.UpstreamClient
    client = kind()
    client.open(SimpleNamespace(relay_max_connections=100, relay_connect_timeout=10,
                                relay_first_byte_timeout=600, relay_idle_timeout=300, relay_timeout=0))
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    body = json.dumps({"model": "gpt-4o-mini", "stream": stream, "messages": []}).encode()
    headers = {"Authorization": "Bearer x", "Content-Type": "application/json"}

    async def one() -> None:
        response = await client.send("POST", url, headers, body)
        if stream:
            async for _chunk in response.iter_chunks():
                pass
            response.close()
        else:
            await response.read()

    for _ in range(200):
        await one()
    started = time.process_time()
    for _ in range(requests // 8):
        await asyncio.gather(*(one() for _ in range(8)))
    spent = time.process_time() - started
    await client.stop()
    return spent / (requests // 8 * 8) * 1e6


async def _connections(bare: bool, requests: int) -> float:
    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    from oneapi.connections import http_protocol

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"ok"})

    class Transport(asyncio.Transport):
        closing = False

        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 3000)}.get(name, default)

        def write(self, data: Any) -> None:
            pass

        def is_closing(self) -> bool:
            return self.closing

        def close(self) -> None:
            self.closing = True

    config = Config(app=app, lifespan="off", access_log=False, log_config=None, http="httptools")
    config.load()
    state = ServerState()
    kind = HttpToolsProtocol if bare else http_protocol(10.0, 10_000)
    protocol: Any = kind(config=config, server_state=state, app_state={},
                         _loop=asyncio.get_running_loop())
    protocol.connection_made(Transport())
    for _ in range(200):
        protocol.data_received(REQUEST)
        await asyncio.sleep(0)
    started = time.process_time()
    for _ in range(requests):
        protocol.data_received(REQUEST)
        await asyncio.sleep(0)
    spent = time.process_time() - started
    assert state.total_requests >= requests
    protocol.connection_lost(None)
    return spent / requests * 1e6


def measure(what: str, port: int) -> None:
    """In the checkout's own process: print the CPU microseconds per request of ``what``."""
    import uvloop

    jobs = {"upstream": lambda: _upstream(port, 4000, stream=False),
            "upstream stream": lambda: _upstream(port, 800, stream=True),
            "connections": lambda: _connections(False, 20_000),
            "connections, bare uvicorn": lambda: _connections(True, 20_000)}
    print(uvloop.run(jobs[what]()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="another checkout of the gateway")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.port)
        return 0
    sys.path.insert(0, str(BENCH))
    from run import free_port, pinned

    port = free_port()
    checkouts = {"before": args.before.resolve(), "this": ROOT}
    what = ("upstream", "upstream stream", "connections", "connections, bare uvicorn")
    results: dict[tuple[str, str], list[float]] = {}
    with pinned("1", [sys.executable, str(BENCH / "mock_upstream.py"), str(port)], port):
        for _round in range(args.rounds):
            for name, root in checkouts.items():
                for piece in what:
                    command = ["taskset", "-c", "0", sys.executable, str(BENCH / "hotpath.py"),
                               "--before", ".", "--measure", piece, "--port", str(port)]
                    output = subprocess.run(command, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                                            check=True, capture_output=True, text=True).stdout
                    results.setdefault((piece, name), []).append(float(output.strip().splitlines()[-1]))
    print("| CPU us per request (median of rounds) | before | this |")
    print("|---|---|---|")
    for piece in what:
        cells = [f"{statistics.median(results[(piece, name)]):.1f}" for name in checkouts]
        print(f"| {piece} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
