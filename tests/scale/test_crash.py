"""``kill -9`` under load: every answer that reached its client is logged and charged exactly once.

A gateway serving ~200 requests/s on one token is killed with SIGKILL (no shutdown, no
flush), started again on the same database and journal directory, then stopped. Every
request whose answer arrived in full must have its log row (matched by the request id
the answer carried) and its quota counted once in the token, the user and the channel.
A request settled in the instant before the kill may be charged although its answer was
lost on the way; it is still charged once, and there can be no more of those than
requests were in flight.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from pathlib import Path

import aiohttp
import httpx

from oneapi.db.journal import read_settlements
from oneapi.db.models import Channel, User
from tests.support.gateway import GatewayProcess, run_gateway
from tests.support.seed import Seed, seed_database
from tests.support.upstreams import OpenAIUpstream

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
RATE = 200  # requests per second
KILL_AFTER = 2.5  # seconds of load before the SIGKILL
TOKEN_QUOTA, USER_QUOTA = 10_000_000, 50_000_000


async def _load_then_kill(gateway: GatewayProcess, key: str) -> tuple[set[str], int]:
    """Send RATE requests/s (a quarter streamed) and SIGKILL the gateway mid-load: the ids answered in
    full, the number sent. (aiohttp: httpx costs the test's process too much CPU to keep the pace.)"""
    served: set[str] = set()
    url = f"{gateway.base_url}/v1/chat/completions"
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        async def one(stream: bool) -> None:
            try:
                async with client.post(url, json={**CHAT, "stream": stream}, headers=headers) as answer:
                    body = await answer.read()
            except (TimeoutError, aiohttp.ClientError):
                return
            if answer.status != 200:
                return
            if body.rstrip().endswith(b"data: [DONE]") if stream else json.loads(body)["choices"]:
                served.add(answer.headers["x-oneapi-request-id"])

        tasks: list[asyncio.Task[None]] = []
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < KILL_AFTER + 0.2:
            if elapsed >= KILL_AFTER and gateway.process.poll() is None:
                os.kill(gateway.process.pid, signal.SIGKILL)
            tasks.append(asyncio.create_task(one(stream=len(tasks) % 4 == 3)))  # a quarter are streams
            await asyncio.sleep(max(0.0, started + len(tasks) / RATE - time.monotonic()))
        await asyncio.gather(*tasks)
    assert gateway.process.wait(10) == -signal.SIGKILL
    return served, len(tasks)


def _crash_and_restart(tmp_path: Path, seed: Seed, env: dict[str, str]) -> None:
    with OpenAIUpstream() as upstream:
        channel = seed.channel(upstream.url, ["gpt-4o-mini"])
        user = seed.user(quota=USER_QUOTA)
        key = seed.token(user, remain_quota=TOKEN_QUOTA)
        env = {"BATCH_UPDATE_INTERVAL": "2", "LOG_LEVEL": "WARNING", **env}
        with run_gateway(tmp_path, env) as gateway:
            served, sent = asyncio.run(_load_then_kill(gateway, key))
        with run_gateway(tmp_path, env) as restarted:
            pass  # boots (replaying what the killed process left), then stops with SIGTERM
        replayed = re.search(r"wrote (\d+) settlement", restarted.output())
    token = seed.token_row(key)
    logs = seed.logs(token.id)
    logged = [row.request_id for row in logs]
    charged = sum(row.quota for row in logs)
    lost = served - set(logged)
    each = max(row.quota for row in logs)
    account, used_channel = seed.get(User, user.id), seed.get(Channel, channel.id).used_quota
    print(f"\nkill -9: {sent} sent, {len(served)} answered in full, {len(logs)} log rows, "
          f"{len(lost)} answered without a log row (up to {len(lost) * each} quota), "
          f"token charged {TOKEN_QUOTA - token.remain_quota} for {charged} logged, "
          f"{replayed[1] if replayed else 0} settlement(s) replayed from the journal")
    assert len(served) >= 100  # the load really ran (on a busy machine, below RATE)
    assert replayed, "the restart found nothing to replay: the kill did not catch a batch in memory"
    assert not lost
    assert len(logged) == len(set(logged))  # each settlement written once
    assert len(logged) - len(served) <= sent - len(served)  # charged yet unanswered: only those in flight
    assert (token.remain_quota, token.used_quota) == (TOKEN_QUOTA - charged, charged)
    assert (account.quota, account.used_quota, account.request_count) == (USER_QUOTA - charged, charged,
                                                                          len(logs))
    assert used_channel == charged


def test_kill_9_under_load_loses_no_billing_on_sqlite(tmp_path: Path) -> None:
    _crash_and_restart(tmp_path, Seed(tmp_path / "one-api.db"), {})


def test_kill_9_under_load_loses_no_billing_on_postgresql(tmp_path: Path, pg_dsn: str) -> None:
    _crash_and_restart(tmp_path, seed_database(pg_dsn), {"SQL_DSN": pg_dsn})


def test_each_answer_is_journaled_without_waiting_for_a_flush(tmp_path: Path) -> None:
    seed = Seed(tmp_path / "one-api.db")
    with OpenAIUpstream() as upstream:
        seed.channel(upstream.url, ["gpt-4o-mini"])
        key = seed.token(seed.user())
        with run_gateway(tmp_path, {"BATCH_UPDATE_INTERVAL": "600"}) as gateway:  # no flush meanwhile
            url, headers = f"{gateway.base_url}/v1/chat/completions", {"Authorization": f"Bearer {key}"}
            for stream in (False, True):
                answer = httpx.post(url, json={**CHAT, "stream": stream}, headers=headers, timeout=10)
                assert answer.status_code == 200
                journaled = read_settlements(sorted(tmp_path.glob("settlements-*.journal")))
                request_ids = [record.log["request_id"] for record in journaled]
                assert answer.headers["x-oneapi-request-id"] in request_ids
            assert seed.log_count() == 0  # only in the journal so far
    assert seed.log_count() == 2  # written at the clean stop, which empties the journal
    assert list(tmp_path.glob("settlements-*")) == []
