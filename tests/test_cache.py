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
