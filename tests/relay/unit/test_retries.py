"""Retries over channels, on the in-memory transport: which failures move on, and which do not."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

from oneapi.errors import UpstreamConnectError, UpstreamProtocolError
from oneapi.options import options
from oneapi.relay.upstream import MemoryAnswer, UpstreamRequest
from tests.relay.unit import vendors
from tests.relay.unit.conftest import Gateway

OPENAI, CHAT = 1, "/v1/chat/completions"
ASK = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def by_key(**answers: Callable[[UpstreamRequest], MemoryAnswer]) -> Callable[[UpstreamRequest], MemoryAnswer]:
    """A handler answering each channel (told apart by its key) with its own function."""
    def handle(request: UpstreamRequest) -> MemoryAnswer:
        key = request.headers["Authorization"].removeprefix("Bearer ")
        return answers[key](request)
    return handle


def status(code: int) -> Callable[[UpstreamRequest], MemoryAnswer]:
    return lambda _request: MemoryAnswer.json({"error": {"message": f"vendor says {code}"}}, code)


def refuse(_request: UpstreamRequest) -> MemoryAnswer:
    raise UpstreamConnectError("cannot reach the upstream: refused")


def two_tiers(first: Callable[[UpstreamRequest], MemoryAnswer]) -> tuple[Gateway, int, int]:
    """A gateway whose top-priority channel answers with ``first`` and the next one as OpenAI."""
    gateway = Gateway(by_key(bad=first, good=vendors.openai))
    top = gateway.channel(OPENAI, ["m"], priority=10, key="bad").id
    low = gateway.channel(OPENAI, ["m"], priority=0, key="good").id
    return gateway, top, low


async def test_5xx_429_and_connect_errors_move_to_the_next_channel() -> None:
    for failure in (status(500), status(503), status(429), refuse):
        gateway, top, low = two_tiers(failure)
        answer = await gateway.call(CHAT, ASK)
        assert answer.status == 200 and answer.json()["choices"][0]["message"]["content"] == vendors.TEXT
        assert [request.headers["Authorization"] for request in gateway.transport.requests] == \
            ["Bearer bad", "Bearer good"]
        (charge,) = gateway.charges  # billed once, to the channel that answered
        assert charge.channel_id == low and charge.log is not None
        assert json.loads(charge.log["other"])["channel_path"] == [top, low]


async def test_a_first_byte_timeout_moves_on_and_the_channel_config_sets_the_limit() -> None:
    async def hang(_request: UpstreamRequest) -> MemoryAnswer:
        await asyncio.sleep(5)
        raise AssertionError("the first-byte limit did not hold")

    gateway = Gateway(by_key(bad=hang, good=vendors.openai))
    gateway.channel(OPENAI, ["m"], priority=10, key="bad", config={"first_byte_timeout": 0.05})
    gateway.channel(OPENAI, ["m"], key="good")
    answer = await asyncio.wait_for(gateway.call(CHAT, ASK), 2)
    assert answer.status == 200
    assert gateway.transport.requests[0].limits.first_byte == 0.05
    assert gateway.transport.requests[1].limits.first_byte == 1


async def test_a_2xx_that_is_not_a_success_moves_on() -> None:
    def junk(_request: UpstreamRequest) -> MemoryAnswer:
        return MemoryAnswer(200, {"Content-Type": "text/html"}, b"<html>maintenance</html>")

    gateway, _top, low = two_tiers(junk)
    answer = await gateway.call(CHAT, ASK)
    assert answer.status == 200 and [charge.channel_id for charge in gateway.charges] == [low]


async def test_other_4xx_are_the_client_s_own_and_not_retried() -> None:
    gateway, _top, _low = two_tiers(status(400))
    answer = await gateway.call(CHAT, ASK)
    assert answer.status == 400 and "vendor says 400" in answer.json()["error"]["message"]
    assert len(gateway.transport.requests) == 1 and gateway.charges == []


async def test_retries_stop_at_retry_times_and_the_last_error_is_answered() -> None:
    gateway = Gateway(status(502))
    for priority in (30, 20, 10, 0):
        gateway.channel(OPENAI, ["m"], priority=priority)
    answer = await gateway.call(CHAT, ASK)
    assert answer.status == 502 and len(gateway.transport.requests) == 3  # RetryTimes 2: three tries
    options.replace({"RetryTimes": "0"})
    answer = await gateway.call(CHAT, ASK)
    assert answer.status == 502 and len(gateway.transport.requests) == 4
    assert gateway.charges == [] and gateway.user.quota == Gateway.QUOTA  # every reservation refunded


async def test_a_pinned_channel_is_never_retried() -> None:
    gateway, top, _low = two_tiers(status(500))
    gateway.key = f"{gateway.key}-{top}"
    answer = await gateway.call(CHAT, ASK)
    assert answer.status == 502 and len(gateway.transport.requests) == 1


async def test_a_stream_that_breaks_after_it_started_is_not_retried_and_bills_what_was_sent() -> None:
    async def breaking() -> AsyncIterator[bytes]:
        yield b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":' \
              b'[{"index":0,"delta":{"content":"Hello there"},"finish_reason":null}]}\n\n'
        raise UpstreamProtocolError("the upstream stream broke: ServerDisconnectedError")

    gateway, _top, _low = two_tiers(lambda _r: MemoryAnswer(200, {"Content-Type": "text/event-stream"},
                                                            breaking()))
    answer = await gateway.call(CHAT, {**ASK, "stream": True})
    assert answer.status == 200 and b"Hello there" in answer.body
    assert len(gateway.transport.requests) == 1  # the client has bytes already: no other channel
    (charge,) = gateway.charges
    assert charge.quota > 0 and charge.log is not None and charge.log["completion_tokens"] > 0
