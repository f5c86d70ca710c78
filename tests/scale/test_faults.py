"""Faults while serving: Redis stopped mid-load, SIGTERM during open streams."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path

import httpx

from oneapi.db.models import Token
from tests.scale.conftest import ThrowAwayPostgres, ThrowAwayRedis, cluster, new_seed
from tests.support.upstreams import OpenAIUpstream

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def _limit(seed: object, key: str, rpm: int) -> None:
    with seed.engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(Token.__table__.update().where(Token.key == key[3:]).values(rpm_limit=rpm))


async def _burst(urls: list[str], key: str, count: int) -> list[tuple[int, float]]:
    async with httpx.AsyncClient(timeout=10) as client:
        async def one(index: int) -> tuple[int, float]:
            started = time.monotonic()
            answer = await client.post(f"{urls[index % len(urls)]}/chat/completions", json=CHAT,
                                       headers={"Authorization": f"Bearer {key}"})
            return answer.status_code, time.monotonic() - started

        return await asyncio.gather(*(one(i) for i in range(count)))


def _post_with_key(url: str, key: str) -> httpx.Response:
    return httpx.post(f"{url}/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key}"},
                      timeout=10)


def _wait_for_log(replica: object, text: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in replica.output():  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"no {text!r} in the gateway's log"
        time.sleep(0.05)


def test_redis_stopped_mid_load_keeps_serving_and_limits_resume(tmp_path: Path, pg_dsn: str,
                                                                own_redis: ThrowAwayRedis) -> None:
    with OpenAIUpstream() as upstream:
        seed = new_seed(pg_dsn)
        seed.channel(upstream.url, ["gpt-4o-mini"])
        user = seed.user()
        free_key, limited_before, limited_after = seed.token(user), seed.token(user), seed.token(user)
        for key in (limited_before, limited_after):
            _limit(seed, key, 6)
        with cluster(tmp_path, seed, pg_dsn, own_redis.url) as replicas:
            urls = [replicas.v1(0), replicas.v1(1)]
            assert [s for s, _ in asyncio.run(_burst(urls, limited_before, 12))].count(200) == 6

            stop_at = threading.Timer(0.3, own_redis.stop)
            stop_at.start()
            during: list[tuple[int, float]] = []
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                during += asyncio.run(_burst(urls, free_key, 10))
            stop_at.join()
            assert own_redis.process is None
            assert [status for status, _ in during] == [200] * len(during)
            assert max(seconds for _, seconds in during) < 2.0  # never waits on the dead Redis
            for replica in replicas.replicas:
                _wait_for_log(replica, "redis: unavailable")
            # with Redis down each replica still enforces the limit with its own window
            local = [s for s, _ in asyncio.run(_burst([urls[0]], limited_after, 10))]
            assert local.count(200) == 6 and local.count(429) == 4

            own_redis.start()
            for replica in replicas.replicas:
                _wait_for_log(replica, "redis: available again")
            fresh = seed.token(user)
            _limit(seed, fresh, 6)
            shared = [s for s, _ in asyncio.run(_burst(urls, fresh, 12))]
            assert shared.count(200) == 6 and shared.count(429) == 6


def test_sigterm_drains_twenty_open_streams_and_bills_each(tmp_path: Path, pg_dsn: str,
                                                           redis_url: str) -> None:
    with OpenAIUpstream(chunk_delay=0.2) as upstream:
        seed = new_seed(pg_dsn)
        seed.channel(upstream.url, ["gpt-4o-mini"])
        start_quota = 10_000_000
        key = seed.token(seed.user(), remain_quota=start_quota)
        with cluster(tmp_path, seed, pg_dsn, redis_url, replicas=1,
                     env={"SHUTDOWN_GRACE_PERIOD": "15", "BATCH_UPDATE_INTERVAL": "30"}) as replicas:
            gateway = replicas.replicas[0]
            opened = threading.Semaphore(0)
            results: list[tuple[bool, bytes]] = []

            def stream() -> None:
                with httpx.stream("POST", f"{gateway.base_url}/v1/chat/completions", timeout=30,
                                  json={**CHAT, "stream": True},
                                  headers={"Authorization": f"Bearer {key}"}) as answer:
                    body = b""
                    for chunk in answer.iter_bytes():
                        if not body:
                            opened.release()
                        body += chunk
                    results.append((answer.status_code == 200, body))

            threads = [threading.Thread(target=stream) for _ in range(20)]
            for thread in threads:
                thread.start()
            for _ in range(20):
                assert opened.acquire(timeout=20)
            gateway.process.send_signal(signal.SIGTERM)
            for thread in threads:
                thread.join(30)
            assert gateway.process.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
        assert len(results) == 20
        for ok, body in results:
            assert ok and body.rstrip().endswith(b"data: [DONE]")
        logs = seed.logs(seed.token_row(key).id)
        assert len(logs) == 20  # written at shutdown, although the writer's interval is 30 s
        assert all(row.completion_tokens == 6 and row.is_stream for row in logs)
        charged = sum(row.quota for row in logs)
        assert seed.token_row(key).remain_quota == start_quota - charged


def test_database_stopped_mid_load_keeps_serving_and_writes_everything_after(
        tmp_path: Path, own_postgres: ThrowAwayPostgres) -> None:
    from tests.support.gateway import run_gateway
    from tests.support.seed import seed_database

    start_quota = 10_000_000
    with OpenAIUpstream() as upstream:
        seed = seed_database(own_postgres.dsn)
        seed.channel(upstream.url, ["gpt-4o-mini"])
        user = seed.user(quota=50_000_000)
        key = seed.token(user, remain_quota=start_quota)
        env = {"SQL_DSN": own_postgres.dsn, "BATCH_UPDATE_INTERVAL": "0.2", "DB_CONNECT_TIMEOUT": "2",
               "SYNC_FREQUENCY": "1"}
        with run_gateway(tmp_path, env) as gateway:
            url = gateway.base_url + "/v1"
            assert [s for s, _ in asyncio.run(_burst([url], key, 5))] == [200] * 5
            assert len(seed.wait_logs(key, 5)) == 5
            seed.engine.dispose()
            own_postgres.stop()
            during = asyncio.run(_burst([url], key, 20))
            time.sleep(1.5)  # the writer fails a few flushes and the cache a reload meanwhile
            during += asyncio.run(_burst([url], key, 20))
            assert [status for status, _ in during] == [200] * 40
            assert max(seconds for _, seconds in during) < 3.0
            assert "batch write failed" in gateway.output()
            # a key the cache lacks may have been created since its last reload: 503, not 500 or 401
            unknown = _post_with_key(url, "sk-" + "x" * 48)
            assert unknown.status_code == 503, unknown.text
            assert unknown.json()["error"]["code"] == "service_unavailable"
            own_postgres.start()
            deadline = time.monotonic() + 20
            while (status := _post_with_key(url, "sk-" + "y" * 48).status_code) == 503:
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert status == 401  # the database answers again: the key does not exist
            logs = seed.wait_logs(key, 45, timeout=20)
            assert len(logs) == 45
            charged = sum(row.quota for row in logs)
            assert seed.wait_remain(key, start_quota - charged) == start_quota - charged
            from oneapi.db.models import User

            account = seed.get(User, user.id)
            assert account.request_count == 45 and account.used_quota == charged
