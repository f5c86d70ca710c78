"""CPU per request of a real Claude Code request through ``/v1/messages``, beside the small chat request.

The body is Claude Code 2.1.197's first request as recorded in
``tests/relay/fixtures/clients`` (about 76 KB: 24 tools, a mid-conversation system
message). It is sent non-streamed and streamed (as Claude Code sends it) to an Anthropic
channel, where it passes through untouched, and, with its model renamed, to an OpenAI
channel, where it is converted both ways; the bench's usual small chat request
(``bench/run.py``'s) is measured in the same run. Every figure is the gateway's CPU time
per request (from ``/proc``), with the gateway pinned to core 0 and the mock upstream and
wrk on core 1, as in ``bench/run.py``.

    python bench/clients.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from run import CHAT, LOAD_CPU, PROXY_CPU, ROOT, STREAM, free_port, pinned, wrk

RECORDED = ROOT / "tests" / "relay" / "fixtures" / "clients" / "claude-code" / "01-messages.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    claude_code = json.loads(json.loads(RECORDED.read_text())["body"])
    converted = {**claude_code, "model": "gpt-4o-mini"}
    whole = {**claude_code, "stream": False}
    cases = {
        "small chat request, /v1/chat/completions": ("/v1/chat/completions", CHAT),
        "small chat request, streamed": ("/v1/chat/completions", STREAM),
        "Claude Code body, passed through (Anthropic channel)": ("/v1/messages", whole),
        "Claude Code body, passed through, streamed": ("/v1/messages", claude_code),
        "Claude Code body, converted (OpenAI channel)": ("/v1/messages", {**converted, "stream": False}),
        "Claude Code body, converted, streamed": ("/v1/messages", converted),
    }
    figures: dict[str, list[tuple[float, float, int]]] = {name: [] for name in cases}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        upstream = free_port()
        sys.path.insert(0, str(ROOT))
        from oneapi.db.models import Role
        from tests.support.seed import Seed

        seed = Seed(work / "one-api.db")
        seed.user("root", role=Role.ROOT)
        seed.channel(f"http://127.0.0.1:{upstream}", ["gpt-4o-mini"])
        seed.channel(f"http://127.0.0.1:{upstream}", ["claude-opus-4-8"], type=14)
        key = seed.token(seed.user(quota=10**15), unlimited=True)
        port = free_port()
        env = {"PORT": str(port), "SQLITE_PATH": str(work / "one-api.db"), "LOG_LEVEL": "WARNING",
               "SQL_DSN": "", "PYTHONUNBUFFERED": "1"}
        mock = [sys.executable, str(ROOT / "bench" / "mock_upstream.py"), str(upstream)]
        with pinned(LOAD_CPU, mock, upstream), \
                pinned(PROXY_CPU, [sys.executable, "app.py"], port, env, work / "gateway.log") as gateway:
            for path, body in cases.values():
                wrk(f"http://127.0.0.1:{port}{path}", body, key, 8, 1)  # warm up
            for _ in range(args.rounds):
                for name, (path, body) in cases.items():
                    load = wrk(f"http://127.0.0.1:{port}{path}", body, key, 32, args.seconds, gateway.pid)
                    figures[name].append((load.cpu_ms, load.rps, load.errors))
    small = {streamed: statistics.median(cpu for cpu, _, _ in figures[name])
             for streamed, name in ((False, "small chat request, /v1/chat/completions"),
                                    (True, "small chat request, streamed"))}
    print("| request | CPU ms/req (median round) | rounds | req/s c32 | x small request (same streaming) "
          "| errors |")
    print("|---|---|---|---|---|---|")
    for name, rounds in figures.items():
        cpu = statistics.median(cpu for cpu, _, _ in rounds)
        each = ", ".join(f"{value:.2f}" for value, _, _ in rounds)
        rps = statistics.median(rate for _, rate, _ in rounds)
        errors = sum(error for _, _, error in rounds)
        ratio = cpu / small[bool(cases[name][1].get("stream"))]
        print(f"| {name} | {cpu:.2f} | {each} | {rps:,.0f} | {ratio:.2f}x | {errors} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
