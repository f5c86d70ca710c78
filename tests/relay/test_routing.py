"""Channel choice through the gateway: mapping, weights, retries, cooldown."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest

from tests.relay.conftest import World

HI = [{"role": "user", "content": "hi"}]


def test_model_mapping_rewrites_upstream_model_only(world: World) -> None:
    key = world.key()
    completion = world.client(key).chat.completions.create(model="friendly-name", messages=HI)
    assert completion.choices[0].message.content
    assert world.upstreams["ok"].received[-1].json()["model"] == "gpt-4o-mini"
    (log,) = world.seed.wait_logs(key, 1)
    assert log.model_name == "friendly-name"
    assert json.loads(log.other or "")["upstream_model"] == "gpt-4o-mini"


def test_wildcard_model_routes(world: World) -> None:
    world.client().chat.completions.create(model="mapped-anything", messages=HI)
    assert world.upstreams["ok"].received[-1].json()["model"] == "mapped-anything"


async def test_weights_split_traffic(world: World) -> None:
    client = world.async_client()
    w1, w3 = world.upstreams["w1"], world.upstreams["w3"]
    before = len(w1.received), len(w3.received)
    semaphore = asyncio.Semaphore(16)

    async def one() -> None:
        async with semaphore:
            await client.chat.completions.create(model="weighted", messages=HI)

    await asyncio.gather(*(one() for _ in range(300)))
    await client.close()
    hits1, hits3 = len(w1.received) - before[0], len(w3.received) - before[1]
    assert hits1 + hits3 == 300
    # weight 3 vs 1: expect 225 vs 75; 5 standard deviations (~37) either way
    assert 188 <= hits3 <= 262, (hits1, hits3)


@pytest.mark.parametrize("scenario", ["500", "429", "dead"])
def test_retry_moves_to_the_next_channel(world: World, scenario: str) -> None:
    key = world.key()
    ok2 = world.upstreams["ok2"]
    before = len(ok2.received)
    completion = world.client(key).chat.completions.create(model=f"retry-{scenario}", messages=HI)
    assert completion.choices[0].message.content
    assert len(ok2.received) == before + 1
    (log,) = world.seed.wait_logs(key, 1)
    path = json.loads(log.other or "")["channel_path"]
    assert len(path) == 2 and path[-1] == log.channel_id


def test_no_retry_on_400(world: World) -> None:
    ok2, e400 = world.upstreams["ok2"], world.upstreams["e400"]
    before = len(ok2.received), len(e400.received)
    with pytest.raises(openai.BadRequestError) as caught:
        world.client().chat.completions.create(model="retry-400", messages=HI)
    assert caught.value.message.endswith("e400 says 400")
    assert len(ok2.received) == before[0] and len(e400.received) == before[1] + 1


def test_429_cools_the_channel_down(world: World) -> None:
    e429 = world.upstreams["e429"]
    client = world.client()
    client.chat.completions.create(model="retry-429", messages=HI)
    hits = len(e429.received)
    for _ in range(5):
        client.chat.completions.create(model="retry-429", messages=HI)
    assert len(e429.received) == hits  # cooling down: the healthy channel takes the traffic


def test_failure_after_retries_is_502_with_upstream_message(world: World) -> None:
    e500 = world.upstreams["e500"]
    before = len(e500.received)
    key = world.key()
    with pytest.raises(openai.InternalServerError) as caught:
        world.client(key).chat.completions.create(model="always-500", messages=HI)
    assert caught.value.status_code == 502 and "e500 says 500" in caught.value.message
    assert "sk-upstream-secret" not in caught.value.message
    assert len(e500.received) - before == 1  # one channel: a retry never re-picks a tried channel
    assert world.seed.wait_remain(key, 10**8) == 10**8  # refunded


def test_admin_pins_a_channel(world: World) -> None:
    from oneapi.db.models import Role

    admin_key = world.key(role=Role.ADMIN)
    azure_id = world.channels["azure"]
    world.client(f"{admin_key}-{azure_id}").chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert world.upstreams["azure"].received[-1].path == "/openai/deployments/gpt-4o-mini/chat/completions"
    with pytest.raises(openai.PermissionDeniedError):
        world.client(f"{world.key()}-{azure_id}").chat.completions.create(model="gpt-4o-mini", messages=HI)
