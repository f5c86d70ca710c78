"""Streams that end badly: cut by the upstream, abandoned by the client, or without usage."""

from __future__ import annotations

import time

import httpx

from oneapi.billing.pricing import price_for
from oneapi.relay.tokenizer import count_messages, count_text
from tests.relay.conftest import World
from tests.support.upstreams import REPLY_WORDS

HI = [{"role": "user", "content": "hi"}]


def test_stream_cut_by_upstream_bills_what_was_sent(world: World) -> None:
    key = world.key()
    received = ""
    try:
        for chunk in world.client(key).chat.completions.create(model="cut-stream", messages=HI, stream=True):
            received += chunk.choices[0].delta.content or "" if chunk.choices else ""
    except Exception:
        pass
    assert received == "".join(REPLY_WORDS[:2])  # role chunk, then two words, then the cut
    (log,) = world.seed.wait_logs(key, 1)
    assert log.is_stream and log.completion_tokens == count_text(received, "gpt-4o-mini")
    assert log.prompt_tokens == count_messages(HI, "cut-stream") and log.quota > 0
    assert world.seed.wait_remain(key, 10**8 - log.quota) == 10**8 - log.quota


def test_client_disconnect_closes_upstream_and_bills(world: World) -> None:
    key = world.key()
    slow = world.upstreams["slow"]
    cancelled = slow.streams_cancelled
    body = {"model": "slow-stream", "messages": HI, "stream": True}
    with httpx.stream("POST", world.v1 + "/chat/completions", json=body,
                      headers={"Authorization": f"Bearer {key}"}, timeout=10) as response:
        lines = response.iter_lines()
        seen = [next(lines) for _ in range(3)]  # role chunk, blank, first word
    assert seen[0].startswith("data: ")
    assert slow.wait_cancelled(cancelled + 1), "the gateway kept reading the upstream"
    (log,) = world.seed.wait_logs(key, 1)
    assert log.is_stream and 0 < log.completion_tokens < len(REPLY_WORDS)
    assert world.seed.wait_remain(key, 10**8 - log.quota) == 10**8 - log.quota


def test_stream_without_upstream_usage_is_counted_locally(world: World) -> None:
    key = world.key()
    chunks = list(world.client(key).chat.completions.create(model="no-usage", messages=HI, stream=True,
                                                            stream_options={"include_usage": True}))
    assert all(chunk.choices for chunk in chunks)  # nothing to pass on: the upstream sent no usage
    (log,) = world.seed.wait_logs(key, 1)
    expected = count_text("".join(REPLY_WORDS), "no-usage")
    assert (log.prompt_tokens, log.completion_tokens) == (count_messages(HI, "no-usage"), expected)
    assert log.quota == price_for("no-usage", "default").text_quota(log.prompt_tokens, expected)


def test_stream_first_byte_is_not_buffered(world: World) -> None:
    body = {"model": "slow-stream", "messages": HI, "stream": True}
    started = time.monotonic()
    with httpx.stream("POST", world.v1 + "/chat/completions", json=body,
                      headers={"Authorization": f"Bearer {world.key()}"}, timeout=10) as response:
        chunks = response.iter_bytes()
        first = next(chunks)
        first_at = time.monotonic() - started
        rest = b"".join(chunks)
        total = time.monotonic() - started
    assert first.startswith(b"data: ") and rest.endswith(b"data: [DONE]\n\n")
    assert first_at < total / 2  # 9 events 0.15 s apart: the first must not wait for the rest
