"""Admission against the shared Redis quota counters, in one process standing in for replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from oneapi.admission import Admission
from oneapi.billing.counters import QuotaCounters
from oneapi.billing.ledger import Ledger
from oneapi.cache import CachedToken, CachedUser
from oneapi.config import load_settings
from oneapi.db.writer import BatchWriter
from oneapi.errors import QuotaExhausted, RateLimited
from oneapi.redis_state import SharedState
from oneapi.relay.token_limits import RateLimits
from oneapi.runtime import Runtime
from oneapi.services import build_services
from tests.scale.conftest import redis_prefix
from tests.support.db import env_database
from tests.support.gateway import free_port


def _token(remain: int, *, unlimited: bool = False, rpm: int = 0) -> CachedToken:
    return CachedToken(id=7, user_id=3, key="k" * 48, name="t", status=1, expired_time=-1,
                       remain_quota=remain, unlimited_quota=unlimited, models=None, subnets=None,
                       rpm_limit=rpm)


def _user(quota: int = 10**9) -> CachedUser:
    return CachedUser(id=3, username="u", role=1, status=1, group="default", quota=quota)


@dataclass
class Replica:
    """What one gateway process holds: its own Redis client, writer, ledger and cached rows."""

    shared: SharedState
    counters: QuotaCounters
    writer: BatchWriter
    admission: Admission

    @property
    def ledger(self) -> Ledger:
        return self.admission.ledger


async def _replica(url: str, prefix: str) -> Replica:
    shared = SharedState(url, prefix, timeout=0.25)
    await shared.start(Runtime(build_services(load_settings())))
    counters = QuotaCounters(shared, 60)
    writer = BatchWriter(env_database())
    ledger = Ledger(writer, counters)
    limits = RateLimits(shared)
    return Replica(shared, counters, writer, Admission(limits, ledger))


Pair = tuple[Replica, Replica, aioredis.Redis, str]  # two replicas, a client, their key prefix


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[Pair]:
    prefix = redis_prefix()
    pair = (await _replica(redis_url, prefix), await _replica(redis_url, prefix))
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield pair[0], pair[1], client, prefix
    finally:
        for replica in pair:
            await replica.counters.stop()
            await replica.shared.stop()
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def _settled(replica: Replica) -> None:
    await replica.counters.stop()  # waits for the background send


async def test_two_replicas_reserve_from_one_counter(replicas: Pair) -> None:
    a, b, client, prefix = replicas
    caches = [(_token(1000), _user()), (_token(1000), _user())]  # each replica's cached copy

    async def one(index: int) -> bool:
        replica = (a, b)[index % 2]
        token, user = caches[index % 2]
        try:
            await replica.admission.admit(token, user, 100)
        except QuotaExhausted:
            return False
        return True

    granted = await asyncio.gather(*(one(i) for i in range(40)))
    assert granted.count(True) == 10  # in memory alone, each replica would grant 10
    assert int(await client.get(prefix + "quota:token:7")) == 0
    assert caches[0][0].remain_quota <= 0 and caches[1][0].remain_quota <= 0  # mirrored from Redis
    # each replica's database deltas are its own reservations only
    spent = [-r.writer.pending_quota()[0].get(7, 0) for r in (a, b)]
    assert sum(spent) == 1000


async def test_settle_and_refund_adjust_the_counter(replicas: Pair) -> None:
    a, b, client, prefix = replicas
    token, user = _token(1000), _user(5000)
    first = await a.admission.admit(token, user, 300)
    second = await a.admission.admit(token, user, 300)
    a.ledger.settle(first, 120, channel_id=1)
    a.ledger.refund(second)
    await _settled(a)
    assert int(await client.get(prefix + "quota:token:7")) == 880
    assert int(await client.get(prefix + "quota:user:3")) == 4880
    assert (token.remain_quota, user.quota) == (880, 4880)
    # replica B's stale cache (1000) does not matter: the key exists
    other = await b.admission.admit(_token(1000), _user(5000), 880)
    with pytest.raises(QuotaExhausted, match=r"token's quota .* has 0"):
        await b.admission.admit(_token(1000), _user(5000), 1)
    b.ledger.settle(other, 880, channel_id=1)


async def test_concurrent_requests_share_script_calls_and_a_cancelled_one_gives_back(replicas: Pair) -> None:
    a, _, client, prefix = replicas
    token, user = _token(10_000), _user()
    calls = 0
    run = a.shared.run

    async def counted(*args: object) -> object:
        nonlocal calls
        calls += 1
        return await run(*args)  # type: ignore[arg-type]

    a.shared.run = counted  # type: ignore[method-assign]
    await asyncio.gather(*(a.admission.admit(token, user, 100) for _ in range(20)))
    assert calls <= 2  # the first alone, the other 19 together while it was in flight
    assert int(await client.get(prefix + "quota:token:7")) == 8000
    gone = asyncio.ensure_future(a.admission.admit(token, user, 100))
    await asyncio.sleep(0)  # queued, its call under way
    gone.cancel()
    await asyncio.sleep(0.2)
    await _settled(a)
    assert int(await client.get(prefix + "quota:token:7")) == 8000


async def test_unlimited_token_uses_only_the_user_counter(replicas: Pair) -> None:
    a, _, client, prefix = replicas
    await a.admission.admit(_token(0, unlimited=True), _user(500), 200)
    assert await client.get(prefix + "quota:token:7") is None
    assert int(await client.get(prefix + "quota:user:3")) == 300
    with pytest.raises(QuotaExhausted, match="user's quota"):
        await a.admission.admit(_token(0, unlimited=True), _user(500), 301)


async def test_admin_change_follows_present_counters_only(replicas: Pair) -> None:
    a, _, client, prefix = replicas
    await a.admission.admit(_token(1000), _user(), 400)  # the token's counter holds 600
    await a.counters.follow({7: 250, 8: 999}, {})
    assert int(await client.get(prefix + "quota:token:7")) == 850
    assert await client.get(prefix + "quota:token:8") is None  # seeds from the reloaded cache instead
    assert 0 < await client.ttl(prefix + "quota:token:7") <= 60


async def test_quota_refusal_does_not_use_a_request_per_minute(replicas: Pair) -> None:
    a, _, _, _ = replicas
    token = _token(100, rpm=2)
    with pytest.raises(QuotaExhausted):
        await a.admission.admit(token, _user(), 500)
    await a.admission.admit(token, _user(), 50)
    await a.admission.admit(token, _user(), 50)
    with pytest.raises(RateLimited, match="requests per minute"):
        await a.admission.admit(token, _user(), 0)


async def test_outage_falls_back_to_memory_and_recovery_clears_the_counters(replicas: Pair) -> None:
    a, _, client, prefix = replicas
    token, user = _token(1000), _user()
    shared_reservation = await a.admission.admit(token, user, 100)
    a.shared.available = False  # as after a timeout
    local = await a.admission.admit(token, user, 100)
    assert not local.shared and token.remain_quota == 800
    a.ledger.settle(shared_reservation, 10, channel_id=1)  # not sent: Redis is "down"
    a.ledger.settle(local, 10, channel_id=1)
    assert token.remain_quota == 980
    a.shared.available = True
    await a.counters.clear()
    assert [key async for key in client.scan_iter(match=prefix + "quota:*")] == []
    await a.admission.admit(token, user, 80)  # re-seeded from the cache: 980 - 80
    assert int(await client.get(prefix + "quota:token:7")) == 900


async def test_unreachable_redis_never_blocks_admission() -> None:
    shared = SharedState(f"redis://127.0.0.1:{free_port()}/0", redis_prefix(), timeout=0.1)
    await shared.start(Runtime(build_services(load_settings())))
    try:
        ledger = Ledger(BatchWriter(env_database()), QuotaCounters(shared))
        admission = Admission(RateLimits(shared), ledger)
        token = _token(150)
        reservation = await asyncio.wait_for(admission.admit(token, _user(), 100), 1)
        assert not reservation.shared and token.remain_quota == 50
        with pytest.raises(QuotaExhausted):
            await admission.admit(token, _user(), 100)
    finally:
        await shared.stop()
