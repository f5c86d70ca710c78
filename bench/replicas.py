"""Scale-out figures: one replica vs two on one PostgreSQL, the latency Redis adds, memory per replica.

Needs ``TEST_PG_DSN`` (a throw-away database is created and dropped) and ``TEST_REDIS_URL``
(keys under a unique prefix, deleted afterwards). Uses ``bench/run.py``'s mock upstream
and wrk harness. On this 2-core machine two replicas share the cores with the mock and
the load generator, so the two-replica figure shows the cost of coordination rather
than added capacity; on a real deployment each replica has its own cores.

    python bench/replicas.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from run import CHAT, LOAD_CPU, Load, free_port, pinned, rss_mb, wrk  # noqa: E402


@contextmanager
def database() -> Iterator[str]:
    import os

    import pytest

    from tests.support.databases import temporary_database

    if not os.environ.get("TEST_PG_DSN") or not os.environ.get("TEST_REDIS_URL"):
        raise SystemExit("set TEST_PG_DSN and TEST_REDIS_URL")
    try:
        with temporary_database("postgresql", Path(tempfile.gettempdir())) as dsn:
            yield dsn
    except pytest.skip.Exception as exc:
        raise SystemExit(str(exc)) from None


@contextmanager
def replica(dsn: str, cpu: str, work: Path, redis_env: dict[str, str]) -> Iterator[tuple[int, int]]:
    port = free_port()
    env = {"PORT": str(port), "SQL_DSN": dsn, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
           "REDIS_CONN_STRING": "", **redis_env}
    with pinned(cpu, [sys.executable, "app.py"], port, env, work / f"gateway-{port}.log") as process:
        yield port, process.pid


def parallel(targets: list[tuple[int, int]], key: str, connections: int, seconds: float) -> list[Load]:
    results: list[Load | None] = [None] * len(targets)

    def run(index: int, port: int, pid: int) -> None:
        results[index] = wrk(f"http://127.0.0.1:{port}/v1/chat/completions", CHAT, key, connections, seconds,
                             pid)

    threads = [threading.Thread(target=run, args=(i, port, pid)) for i, (port, pid) in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [result for result in results if result is not None]


def main() -> int:
    import os

    import redis

    from oneapi.db.models import Role, Token
    from tests.support.seed import seed_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    prefix = f"oneapi-bench-{secrets.token_hex(4)}:"
    redis_env = {"REDIS_CONN_STRING": os.environ.get("TEST_REDIS_URL", ""), "REDIS_KEY_PREFIX": prefix}
    upstream = free_port()
    with database() as dsn, tempfile.TemporaryDirectory(prefix="oneapi-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        seed = seed_database(dsn)
        seed.user("root", role=Role.ROOT)
        seed.channel(f"http://127.0.0.1:{upstream}", ["gpt-4o-mini"])
        user = seed.user(quota=10**15)
        plain = seed.token(user, unlimited=True)
        limited = seed.token(user, unlimited=True)
        with seed.engine.begin() as connection:
            connection.execute(Token.__table__.update().where(Token.key == limited[3:])
                               .values(rpm_limit=2 * 10**9, tpm_limit=2 * 10**9))
        stack.enter_context(pinned(LOAD_CPU, [sys.executable, str(BENCH / "mock_upstream.py"), str(upstream)],
                                   upstream))
        rows: list[str] = []

        def measure(name: str, targets: list[tuple[int, int]], key: str) -> None:
            parallel(targets, key, 8, 1)  # warm up
            single = parallel(targets[:1], key, 1, args.seconds)[0]
            loads = parallel(targets, key, 32 // len(targets), args.seconds)
            total = sum(load.rps for load in loads)
            requests = max(sum(load.requests for load in loads), 1)
            cpu = sum(load.cpu_ms * load.requests for load in loads) / requests
            rss = ", ".join(f"{rss_mb(pid):.0f}" for _, pid in targets)
            errors = single.errors + sum(load.errors for load in loads)
            rows.append(f"| {name} | {total:,.0f} | {single.p50_ms:.2f} / {single.p99_ms:.2f} | {cpu:.2f} | "
                        f"{rss} | {errors} |")
            print(rows[-1], flush=True)

        print("| setup | req/s (32 conns total) | c1 p50/p99 ms | CPU ms/req | RSS MB per replica | errors |")
        print("|---|---|---|---|---|---|")
        with replica(dsn, "0", work, {}) as one:
            measure("1 replica, no Redis", [one], plain)
        with replica(dsn, "0", work, redis_env) as one:
            measure("1 replica, Redis (no limits on the token)", [one], plain)
            measure("1 replica, Redis, token with RPM+TPM limits", [one], limited)
        with replica(dsn, "0", work, redis_env) as first, replica(dsn, "1", work, redis_env) as second:
            measure("2 replicas, Redis, token with RPM+TPM limits", [first, second], limited)
            measure("2 replicas, Redis (no limits)", [first, second], plain)
        client = redis.Redis.from_url(redis_env["REDIS_CONN_STRING"])
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    return 0


if __name__ == "__main__":
    sys.exit(main())
