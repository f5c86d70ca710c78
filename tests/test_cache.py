"""The relay cache's fallback for keys its snapshot lacks."""

from __future__ import annotations

import pytest

from oneapi import cache as cache_module
from oneapi.cache import RelayCache
from oneapi.db.writer import BatchWriter


async def test_unknown_keys_are_looked_up_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[str] = []

    def load(key: str) -> None:
        looked_up.append(key)

    monkeypatch.setattr(cache_module, "_load_token", load)
    cache = RelayCache(BatchWriter())
    assert await cache.token_for_key("guess-1") is None
    assert await cache.token_for_key("guess-1") is None  # remembered as unknown
    assert looked_up == ["guess-1"]
    for number in range(2, 60):
        assert await cache.token_for_key(f"guess-{number}") is None
    assert len(looked_up) <= 2 * cache_module._LOOKUPS_PER_SECOND  # the window may roll over once


async def test_concurrent_requests_with_one_new_key_share_one_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import time

    calls: list[str] = []

    def load(key: str) -> None:
        calls.append(key)
        time.sleep(0.05)

    monkeypatch.setattr(cache_module, "_load_token", load)
    cache = RelayCache(BatchWriter())
    results = await asyncio.gather(*(cache.token_for_key("new-key") for _ in range(100)))
    assert results == [None] * 100 and calls == ["new-key"]
