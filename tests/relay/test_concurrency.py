"""Many concurrent requests on one token with a small quota: no overspend, no lost update."""

from __future__ import annotations

import asyncio

import openai

from tests.relay.conftest import World

HI = [{"role": "user", "content": "hi"}]


async def test_200_concurrent_requests_on_one_limited_token(world: World) -> None:
    start = 1_000
    key = world.key(remain_quota=start)
    client = world.async_client(key, timeout=30)

    async def one() -> str:
        try:
            await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
        except openai.RateLimitError as exc:
            assert exc.code == "insufficient_quota"
            return "refused"
        return "ok"

    outcomes = await asyncio.gather(*(one() for _ in range(200)))
    await client.close()
    served = outcomes.count("ok")
    assert served > 0 and outcomes.count("refused") == 200 - served
    logs = world.seed.wait_logs(key, served)
    assert len(logs) == served
    charged = sum(log.quota for log in logs)
    remain = world.seed.wait_remain(key, start - charged)
    token = world.seed.token_row(key)
    assert remain == start - charged and token.used_quota == charged
    assert remain >= 0  # every charge here is below its reservation, so never below zero
