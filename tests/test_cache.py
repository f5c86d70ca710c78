"""The relay cache: the fallback for keys its snapshot lacks, and partial reloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from oneapi import cache as cache_module
from oneapi.cache import RelayCache
from oneapi.db.writer import BatchWriter
from tests.support.db import env_database
from tests.support.seed import Seed


async def test_unknown_keys_are_looked_up_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[str] = []

    def load(_database: object, key: str) -> None:
        looked_up.append(key)

    monkeypatch.setattr(cache_module, "_load_token", load)
    cache = RelayCache(env_database(), BatchWriter(env_database()))
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

    def load(_database: object, key: str) -> None:
        calls.append(key)
        time.sleep(0.05)

    monkeypatch.setattr(cache_module, "_load_token", load)
    cache = RelayCache(env_database(), BatchWriter(env_database()))
    results = await asyncio.gather(*(cache.token_for_key("new-key") for _ in range(100)))
    assert results == [None] * 100 and calls == ["new-key"]


def test_a_change_reloads_only_the_tables_it_names() -> None:
    assert cache_module.tables_for(("options",)) == {"options"}
    assert cache_module.tables_for(("users",)) == {"users"}
    assert cache_module.tables_for(("tokens",)) == {"users", "tokens"}
    assert cache_module.tables_for(("abilities",)) == {"abilities", "channels"}
    assert cache_module.tables_for(("redemptions",)) == cache_module.TABLES  # unknown: everything
    assert cache_module.tables_for(()) == cache_module.TABLES


async def test_a_partial_reload_leaves_the_other_tables_as_they_were(clean_env: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    seed = Seed(tmp_path / "one-api.db")
    first = seed.token(seed.user())
    cache = RelayCache(env_database(), BatchWriter(env_database()))
    await cache.reload()
    assert set(cache.tokens) == {first[3:]}
    second = seed.token(seed.user())
    seed.channel("http://127.0.0.1:9", ["gpt-4o-mini"])
    await cache.reload(cache_module.tables_for(("options",)))
    assert set(cache.tokens) == {first[3:]} and not cache.channels
    await cache.reload(cache_module.tables_for(("tokens",)))
    assert set(cache.tokens) == {first[3:], second[3:]} and not cache.channels
    await cache.reload(cache_module.tables_for(("channels",)))
    assert len(cache.channels) == 1 and cache.abilities
