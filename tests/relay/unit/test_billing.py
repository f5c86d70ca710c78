"""Billing on the in-memory transport: the upstream's usage is what is charged, failures cost nothing."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from oneapi.billing.pricing import price_for
from oneapi.options import options
from oneapi.relay.asgi import ClientDisconnected
from oneapi.relay.upstream import MemoryAnswer, UpstreamRequest
from tests.relay.unit import vendors
from tests.relay.unit.conftest import Gateway

OPENAI, MODEL = 1, "gpt-4o-mini"
ASK = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


def _expected() -> int:
    return price_for(MODEL, "default").text_quota(vendors.PROMPT_TOKENS, vendors.COMPLETION_TOKENS)


@pytest.mark.parametrize("stream", [False, True])
async def test_the_charge_is_the_upstream_usage_at_the_model_s_price(stream: bool) -> None:
    gateway = Gateway(vendors.openai)
    channel = gateway.channel(OPENAI, [MODEL])
    answer = await gateway.call("/v1/chat/completions", {**ASK, "stream": stream})
    assert answer.status == 200
    (charge,) = gateway.charges
    assert charge.quota == _expected() > 0 and charge.channel_id == channel.id
    assert gateway.user.quota == gateway.token.remain_quota == Gateway.QUOTA - charge.quota
    log = charge.log
    assert log is not None
    assert (log["model_name"], log["quota"], log["is_stream"], log["channel_id"]) == \
        (MODEL, charge.quota, stream, channel.id)
    assert (log["prompt_tokens"], log["completion_tokens"]) == \
        (vendors.PROMPT_TOKENS, vendors.COMPLETION_TOKENS)


async def test_cached_prompt_tokens_are_charged_at_the_cache_ratio() -> None:
    def cached(request: UpstreamRequest) -> MemoryAnswer:
        answer = vendors.openai(request)
        assert isinstance(answer.body, bytes)
        document = json.loads(answer.body)
        document["usage"].update(prompt_tokens=100_000, prompt_tokens_details={"cached_tokens": 80_000})
        return MemoryAnswer.json(document)

    gateway = Gateway(cached)
    gateway.channel(OPENAI, [MODEL])
    await gateway.call("/v1/chat/completions", ASK)
    (charge,) = gateway.charges
    price = price_for(MODEL, "default")
    assert price.cache_ratio < 1
    assert charge.quota == price.text_quota(100_000, vendors.COMPLETION_TOKENS, 80_000) \
        < price.text_quota(100_000, vendors.COMPLETION_TOKENS)


async def test_a_channel_type_s_own_price_is_charged_on_that_channel_type() -> None:
    options.replace({"ModelRatio": json.dumps({MODEL: 1, f"{MODEL}({OPENAI})": 3})})
    gateway = Gateway(vendors.openai)
    gateway.channel(OPENAI, [MODEL])
    await gateway.call("/v1/chat/completions", ASK)
    (charge,) = gateway.charges
    own = price_for(MODEL, "default", OPENAI)
    assert own.model_ratio == 3 and price_for(MODEL, "default").model_ratio == 1
    assert charge.quota == own.text_quota(vendors.PROMPT_TOKENS, vendors.COMPLETION_TOKENS)


@pytest.mark.parametrize("code", [400, 401, 429, 500])
async def test_nothing_is_charged_when_the_upstream_fails(code: int) -> None:
    gateway = Gateway(lambda _request: MemoryAnswer.json({"error": {"message": "no"}}, code))
    gateway.channel(OPENAI, [MODEL])
    answer = await gateway.call("/v1/chat/completions", ASK)
    assert answer.status >= 400
    assert gateway.charges == []
    assert gateway.user.quota == gateway.token.remain_quota == Gateway.QUOTA  # the reservation came back


async def test_a_stream_that_is_junk_from_its_first_byte_is_not_charged() -> None:
    gateway = Gateway(lambda _request: MemoryAnswer(200, {"Content-Type": "text/event-stream"},
                                                    [b'data: {"error": {"message": "overloaded"}}\n\n']))
    gateway.channel(OPENAI, [MODEL])
    answer = await gateway.call("/v1/chat/completions", {**ASK, "stream": True})
    assert answer.status == 502 and gateway.charges == []
    assert gateway.user.quota == Gateway.QUOTA


async def test_a_client_that_leaves_while_the_upstream_thinks_cancels_the_call_and_is_refunded() -> None:
    cancelled = asyncio.Event()

    async def thinking(_request: UpstreamRequest) -> MemoryAnswer:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("the call outlived its client")

    gateway = Gateway(thinking)
    gateway.channel(OPENAI, [MODEL])
    started = time.monotonic()
    with pytest.raises(ClientDisconnected):
        await gateway.call("/v1/chat/completions", ASK, leave_after=0.05)
    assert time.monotonic() - started < 1  # noticed once the watcher starts (at most 0.25 s in)
    assert cancelled.is_set() and gateway.charges == []
    assert gateway.user.quota == gateway.token.remain_quota == Gateway.QUOTA
