"""Chat completions through the gateway with the official SDK: answers, usage, quota, logs."""

from __future__ import annotations

import json

from oneapi.billing.pricing import price_for
from tests.relay.conftest import World
from tests.support.upstreams import REPLY_WORDS


def test_chat_non_stream_charges_quota_and_logs(world: World) -> None:
    key = world.key(remain_quota=1_000_000)
    completion = world.client(key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "".join(REPLY_WORDS)
    assert completion.usage is not None and completion.usage.prompt_tokens == 11
    (log,) = world.seed.wait_logs(key, 1)
    expected = price_for("gpt-4o-mini", "default").text_quota(11, len(REPLY_WORDS))
    assert (log.prompt_tokens, log.completion_tokens, log.quota) == (11, len(REPLY_WORDS), expected)
    assert log.model_name == "gpt-4o-mini" and log.channel_id == world.channels["ok"] and not log.is_stream
    assert json.loads(log.other or "{}")["channel_path"] == [world.channels["ok"]]
    token = world.seed.token_row(key)
    assert token.remain_quota == 1_000_000 - expected and token.used_quota == expected
    sent = world.upstreams["ok"].received[-1]
    assert sent.headers["Authorization"] == "Bearer sk-upstream-secret"


def test_chat_stream_hides_injected_usage_chunk(world: World) -> None:
    key = world.key()
    chunks = list(world.client(key).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(REPLY_WORDS)
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    sent = world.upstreams["ok"].received[-1].json()
    assert sent["stream_options"] == {"include_usage": True}
    (log,) = world.seed.wait_logs(key, 1)
    assert log.is_stream and (log.prompt_tokens, log.completion_tokens) == (11, len(REPLY_WORDS))


def test_chat_stream_keeps_usage_chunk_when_asked(world: World) -> None:
    chunks = list(world.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(REPLY_WORDS)


async def test_async_client_stream_and_non_stream(world: World) -> None:
    client = world.async_client()
    messages = [{"role": "user", "content": "x"}]
    completion = await client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert completion.choices[0].finish_reason == "stop"
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
    assert text == "".join(REPLY_WORDS)
    await client.close()
