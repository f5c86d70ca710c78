"""The picker on its own: weights over many draws, tiers, exclusions, breaker."""

from __future__ import annotations

from collections import Counter

from oneapi.cache import CachedChannel, RelayCache, Tier
from oneapi.channel_types import channel_type
from oneapi.db.writer import BatchWriter
from oneapi.relay.picker import BREAKER_FAILURES, ChannelPicker
from tests.support.db import env_database


def _channel(channel_id: int, weight: int, priority: int = 0) -> CachedChannel:
    return CachedChannel(id=channel_id, type=1, name=str(channel_id), status=1, keys=("a", "b"), base_url="",
                         weight=weight, priority=priority, models=("m",), groups=("default",),
                         model_mapping={}, config={}, other="", system_prompt="", kind=channel_type(1))


def _picker(*tiers: list[CachedChannel]) -> ChannelPicker:
    cache = RelayCache(env_database(), BatchWriter(env_database()))
    cache.abilities[("default", "m")] = [Tier(t[0].priority, t, [max(c.weight, 1) for c in t]) for t in tiers]
    return ChannelPicker(cache)


def test_weighted_random_matches_weights() -> None:
    picker = _picker([_channel(1, 1), _channel(2, 3), _channel(3, 0)])
    counts = Counter(picker.pick("default", "m").id for _ in range(20_000))  # type: ignore[union-attr]
    # shares 1/5, 3/5, 1/5 (weight 0 counts as 1); 20,000 draws -> sd about 0.3 %
    assert abs(counts[1] / 20_000 - 0.2) < 0.02 and abs(counts[2] / 20_000 - 0.6) < 0.02


def test_tiers_exclusions_and_breaker() -> None:
    top, low = _channel(1, 1, priority=10), _channel(2, 1, priority=0)
    picker = _picker([top], [low])
    assert picker.pick("default", "m").id == 1  # type: ignore[union-attr]
    assert picker.pick("default", "m", exclude=[1]).id == 2  # type: ignore[union-attr]
    assert picker.pick("default", "m", exclude=[1, 2]) is None
    for _ in range(BREAKER_FAILURES):
        picker.failed(1)
    assert picker.pick("default", "m").id == 2  # type: ignore[union-attr]
    assert picker.pick("default", "nothing") is None


def test_keys_rotate() -> None:
    channel = _channel(1, 1)
    assert [channel.next_key() for _ in range(3)] == ["a", "b", "a"]
