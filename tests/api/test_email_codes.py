"""Emailed codes shared by replicas through Redis, and kept in memory without it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from oneapi.api.codes import EMAIL_VERIFICATION, MAX_WRONG, PASSWORD_RESET, CodeBook
from oneapi.config import load_settings
from oneapi.redis_state import SharedState
from oneapi.runtime import Runtime
from oneapi.services import build_services
from tests.scale.conftest import redis_prefix
from tests.support.databases import require_service


@pytest.fixture
async def two_replicas() -> AsyncIterator[tuple[SharedState, SharedState, str]]:
    url, prefix = require_service("redis"), redis_prefix()
    pair = [SharedState(url, prefix), SharedState(url, prefix)]
    for shared in pair:
        await shared.start(Runtime(build_services(load_settings())))
    try:
        yield pair[0], pair[1], prefix
    finally:
        for shared in pair:
            await shared.stop()
        client = aioredis.Redis.from_url(url)
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_a_code_mailed_by_one_replica_works_once_on_another(
        two_replicas: tuple[SharedState, SharedState, str]) -> None:
    a, b = CodeBook(two_replicas[0]), CodeBook(two_replicas[1])
    code = await a.issue(EMAIL_VERIFICATION, "Carol@Example.com", 6)
    assert not await b.consume(PASSWORD_RESET, "carol@example.com", code)  # another purpose
    assert not await b.consume(EMAIL_VERIFICATION, "carol@example.com", "nope00")
    # two replicas handed the same code at once: one accepts it
    results = await asyncio.gather(a.consume(EMAIL_VERIFICATION, "carol@example.com", code),
                                   b.consume(EMAIL_VERIFICATION, "carol@example.com", code))
    assert sorted(results) == [False, True]
    assert not await a.consume(EMAIL_VERIFICATION, "carol@example.com", code)


async def test_shared_codes_expire_and_wrong_guesses_discard_them(
        two_replicas: tuple[SharedState, SharedState, str]) -> None:
    a = CodeBook(two_replicas[0], valid_seconds=0.3)
    b = CodeBook(two_replicas[1], valid_seconds=0.3)
    code = await a.issue(PASSWORD_RESET, "x@example.com", 32)
    await asyncio.sleep(0.4)
    assert not await b.consume(PASSWORD_RESET, "x@example.com", code)

    a.valid_seconds = b.valid_seconds = 60
    code = await a.issue(PASSWORD_RESET, "x@example.com", 32)
    for _ in range(MAX_WRONG):
        assert not await b.consume(PASSWORD_RESET, "x@example.com", "wrong")
    assert not await a.consume(PASSWORD_RESET, "x@example.com", code)
    replaced = await a.issue(PASSWORD_RESET, "x@example.com", 32)
    newer = await b.issue(PASSWORD_RESET, "x@example.com", 32)  # a new code replaces the previous one
    assert not await a.consume(PASSWORD_RESET, "x@example.com", replaced)
    assert await a.consume(PASSWORD_RESET, "x@example.com", newer)


async def test_in_memory_without_redis() -> None:
    now = [0.0]
    book = CodeBook(clock=lambda: now[0])
    code = await book.issue(EMAIL_VERIFICATION, "y@example.com", 6)
    assert await book.consume(EMAIL_VERIFICATION, "Y@example.com", code)
    assert not await book.consume(EMAIL_VERIFICATION, "y@example.com", code)
    code = await book.issue(EMAIL_VERIFICATION, "y@example.com", 6)
    now[0] += 600
    assert not await book.consume(EMAIL_VERIFICATION, "y@example.com", code)
