"""Relay benchmark: the gateway against the upstream direct, nginx proxy_pass and LiteLLM.

Pins every proxy under test to core 0 and the mock upstream and load generators to core
1, then for each target measures with wrk: requests/s and latency at 1 and 32
connections (non-streaming chat), streams/s at 32 connections (~20-chunk SSE streams),
time to first byte of 8 concurrent streams (a small asyncio client), and the proxy's RSS
after the load. Latency is printed as "added" over the direct upstream's. Run
``bench/setup_litellm.sh`` first to include LiteLLM; nginx is used when installed.

    python bench/run.py [--seconds 6] [--rounds 3] [--only gateway,nginx] [--transports]

With ``--rounds`` every target is measured that many times, the targets taking turns, and
each row is the target's median round: on a shared machine the speed drifts by tens of
per cent between minutes, and the ratios printed last are taken within each round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

PROXY_CPU, LOAD_CPU = "0", "1"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say something short."}]}
STREAM = {**CHAT, "stream": True}
DIRECT, GATEWAY, LITELLM = "upstream direct", "one-api (this)", "LiteLLM 1.83.14"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


@contextmanager
def pinned(cpu: str, command: list[str], port: int, env: dict[str, str] | None = None,
           log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    out = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(["taskset", "-c", cpu, *command], env={**os.environ, **(env or {})},
                               stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    try:
        wait_port(port, process)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its descendants."""
    ticks = 0
    for current in _tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants."""
    total = 0
    for current in _tree(pid):
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    cpu_ms: float = 0.0  # the proxy's CPU time per request (0 when not measured)


def wrk(url: str, body: dict[str, object], key: str, connections: int, seconds: float,
        pid: int | None = None) -> Load:
    env = {**os.environ, "BENCH_BODY": json.dumps(body), "BENCH_KEY": key}
    command = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(BENCH / "post.lua"), url]
    before = cpu_seconds(pid) if pid else 0.0
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(pid) - before if pid else 0.0
    line = next(row for row in output.splitlines() if row.startswith("RESULT"))
    requests, duration, p50, p99, errors = line.split()[1:]
    count = max(int(requests), 1)
    return Load(count / float(duration), float(p50) / 1000, float(p99) / 1000, int(errors), count,
                used * 1000 / count)


async def _ttfb(port: int, path: str, key: str, streams: int, rounds: int) -> list[float]:
    body = json.dumps(STREAM).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    samples: list[float] = []

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(rounds):
            started = time.perf_counter()
            writer.write(head + body)
            seen = b""
            while b"data:" not in seen:
                seen += await reader.read(65536)
            samples.append(time.perf_counter() - started)
            while not seen.endswith(b"0\r\n\r\n"):
                seen += await reader.read(65536)
        writer.close()

    await asyncio.gather(*(client() for _ in range(streams)))
    return samples


def ttfb_ms(port: int, path: str, key: str, streams: int = 8, rounds: int = 25) -> float:
    os.sched_setaffinity(0, {int(LOAD_CPU)})
    samples = asyncio.run(_ttfb(port, path, key, streams, rounds))
    return statistics.median(samples) * 1000


@dataclass
class Row:
    name: str
    c1: Load
    c32: Load
    streams: Load
    ttfb: float
    rss: float


def measure(name: str, port: int, path: str, key: str, pid: int | None, seconds: float) -> Row:
    url = f"http://127.0.0.1:{port}{path}"
    wrk(url, CHAT, key, 8, 1)  # warm up pools and lazy imports
    c1 = wrk(url, CHAT, key, 1, seconds)
    c32 = wrk(url, CHAT, key, 32, seconds, pid)
    streams = wrk(url, STREAM, key, 32, seconds, pid)
    ttfb = ttfb_ms(port, path, key)
    row = Row(name, c1, c32, streams, ttfb, rss_mb(pid) if pid else 0.0)
    print(f"  {name}: {c32.rps:.0f} req/s, {streams.rps:.0f} streams/s, c1 p50 {c1.p50_ms:.2f} ms, "
          f"errors {c1.errors + c32.errors + streams.errors}", flush=True)
    return row


# -- targets ----------------------------------------------------------------------------------
@contextmanager
def gateway(upstream: int, work: Path) -> Iterator[tuple[int, str, int]]:
    from tests.support.seed import Seed

    seed = Seed(work / "one-api.db")
    from oneapi.db.models import Role

    seed.user("root", role=Role.ROOT)
    seed.channel(f"http://127.0.0.1:{upstream}", ["gpt-4o-mini"])
    key = seed.token(seed.user(quota=10**15), unlimited=True)
    port = free_port()
    env = {"PORT": str(port), "SQLITE_PATH": str(work / "one-api.db"), "LOG_LEVEL": "WARNING",
           "SQL_DSN": "", "PYTHONUNBUFFERED": "1"}
    with pinned(PROXY_CPU, [sys.executable, "app.py"], port, env, work / "gateway.log") as process:
        yield port, key, process.pid


@contextmanager
def nginx(upstream: int, work: Path) -> Iterator[tuple[int, str, int]]:
    port = free_port()
    for sub in ("body", "proxy"):
        (work / sub).mkdir(exist_ok=True)
    conf = (BENCH / "nginx.conf.template").read_text().replace("@DIR@", str(work)) \
        .replace("@UPSTREAM@", str(upstream)).replace("@PORT@", str(port))
    (work / "nginx.conf").write_text(conf)
    with pinned(PROXY_CPU, ["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)], port,
                log=work / "nginx.log") as process:
        yield port, "none", process.pid


@contextmanager
def litellm(upstream: int, work: Path) -> Iterator[tuple[int, str, int]]:
    port = free_port()
    config = work / "litellm.yaml"
    config.write_text(json.dumps({  # JSON is YAML
        "model_list": [{"model_name": "gpt-4o-mini", "litellm_params": {
            "model": "openai/gpt-4o-mini", "api_base": f"http://127.0.0.1:{upstream}/v1",
            "api_key": "sk-mock"}}],
        "general_settings": {"master_key": "sk-bench"},
        "litellm_settings": {"telemetry": False, "drop_params": True}}))
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "NO_DOCS": "True",
           "DISABLE_ADMIN_UI": "True"}
    binary = BENCH / ".venv-litellm" / "bin" / "litellm"
    with pinned(PROXY_CPU, [str(binary), "--config", str(config), "--port", str(port), "--num_workers", "1"],
                port, env, work / "litellm.log") as process:
        yield port, "sk-bench", process.pid


@contextmanager
def transport_app(kind: str, upstream: int, work: Path) -> Iterator[tuple[int, str, int]]:
    port = free_port()
    command = [sys.executable, str(BENCH / "transports.py"), kind, str(port), str(upstream)]
    with pinned(PROXY_CPU, command, port, log=work / f"transport-{kind}.log") as process:
        yield port, "none", process.pid


def table(rows: list[Row]) -> str:
    base = rows[0]
    lines = ["| target | req/s c32 | added p50/p99 c1 (ms) | p50/p99 c32 (ms) | streams/s c32 | "
             "stream TTFB p50 @8 (added ms) | RSS MB | CPU ms/req, /stream | req/s, streams/s per CPU-s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        added = (f"{row.c1.p50_ms - base.c1.p50_ms:+.2f} / {row.c1.p99_ms - base.c1.p99_ms:+.2f}"
                 if row is not base else f"{row.c1.p50_ms:.2f} / {row.c1.p99_ms:.2f} (abs)")
        ttfb = f"{row.ttfb:.2f} ({row.ttfb - base.ttfb:+.2f})" if row is not base else f"{row.ttfb:.2f}"
        lines.append(f"| {row.name} | {row.c32.rps:,.0f} | {added} | "
                     f"{row.c32.p50_ms:.2f} / {row.c32.p99_ms:.2f} | "
                     f"{row.streams.rps:,.0f} | {ttfb} | {row.rss:.0f} | {_cpu(row)} |")
    return "\n".join(lines)


def _cpu(row: Row) -> str:
    """CPU cost per request: a machine shared with other work slows wall-clock figures, not these."""
    if not row.c32.cpu_ms:
        return "- | -"
    return (f"{row.c32.cpu_ms:.2f} / {row.streams.cpu_ms:.2f} | "
            f"{1000 / row.c32.cpu_ms:,.0f} / {1000 / row.streams.cpu_ms:,.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every target this many times, interleaved; report the median round")
    parser.add_argument("--only", default="", help="comma list of: gateway, nginx, litellm")
    parser.add_argument("--transports", action="store_true",
                        help="also compare minimal pass-throughs over aiohttp, httpx and httpx-aiohttp")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(","))) or {"gateway", "nginx", "litellm"}
    if not shutil.which("wrk"):
        print("wrk is not installed", file=sys.stderr)
        return 1
    upstream = free_port()
    rounds: dict[str, list[Row]] = {}
    with tempfile.TemporaryDirectory(prefix="oneapi-bench-") as tmp, ExitStack() as stack:
        stack.enter_context(pinned(LOAD_CPU, [sys.executable, str(BENCH / "mock_upstream.py"), str(upstream)],
                                   upstream))
        print("measuring (proxies on core 0; mock and load on core 1)", flush=True)
        targets = []
        if "nginx" in wanted and shutil.which("nginx"):
            targets.append(("nginx proxy_pass", nginx, "/v1/chat/completions"))
        if "gateway" in wanted:
            targets.append((GATEWAY, gateway, "/v1/chat/completions"))
        if args.transports:
            for kind in ("aiohttp", "httpx-aiohttp", "httpx"):
                targets.append((f"litestar+{kind}", lambda u, w, k=kind: transport_app(k, u, w),
                                "/v1/chat/completions"))
        if "litellm" in wanted and (BENCH / ".venv-litellm" / "bin" / "litellm").exists():
            targets.append((LITELLM, litellm, "/v1/chat/completions"))
        for number in range(args.rounds):
            if args.rounds > 1:
                print(f"round {number + 1} of {args.rounds}", flush=True)
            work = Path(tmp) / f"round-{number + 1}"
            work.mkdir()
            direct = measure(DIRECT, upstream, "/v1/chat/completions", "none", None, args.seconds)
            rounds.setdefault(DIRECT, []).append(direct)
            for name, start, path in targets:
                with start(upstream, work) as (port, key, pid):
                    rounds.setdefault(name, []).append(measure(name, port, path, key, pid, args.seconds))
    print()
    print(table([_median(rows) for rows in rounds.values()]))
    print()
    for line in ratios(rounds):
        print(line)
    return 0


def _median(rows: list[Row]) -> Row:
    """The round with the median non-streaming throughput (rows stay internally consistent)."""
    return sorted(rows, key=lambda row: row.c32.rps)[len(rows) // 2]


def ratios(rounds: dict[str, list[Row]]) -> list[str]:
    """The gateway against the others, taken within each round (they shared its conditions)."""
    lines = []
    ours = rounds.get(GATEWAY, [])
    for other, unit in ((LITELLM, "x"), ("nginx proxy_pass", "%")):
        theirs = rounds.get(other, [])
        if not ours or not theirs:
            continue
        per_round = [mine.c32.rps / max(them.c32.rps, 1e-9) for mine, them in zip(ours, theirs, strict=True)]
        shown = [f"{value:.1f}x" if unit == "x" else f"{100 * value:.1f}%" for value in per_round]
        middle = sorted(per_round)[len(per_round) // 2]
        median = f"{middle:.1f}x" if unit == "x" else f"{100 * middle:.1f}%"
        lines.append(f"one-api req/s c32 vs {other}: median {median} (rounds: {', '.join(shown)})")
    return lines


if __name__ == "__main__":
    sys.exit(main())
