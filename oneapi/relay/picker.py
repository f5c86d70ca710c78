"""Channel choice: priority tiers, weighted random, 429 cooldown and a circuit breaker.

For (group, model) the cache holds tiers of channels, highest priority first. A pick
takes the first tier with a healthy channel not tried yet by this request and draws one
by weight, so a retry goes to the same tier first and then down. "Healthy" means: not
cooling down for this model after a 429 (``RetryCooldownSeconds``), and the channel's
breaker not open (it opens after ``BREAKER_FAILURES`` failures in a row, for
``BREAKER_OPEN_SECONDS``; then one request may try it again). When no healthy channel is
left, cooling or broken ones are still used rather than failing the request outright.
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection

from oneapi.cache import CachedChannel, RelayCache, Tier
from oneapi.options import options

__all__ = ("BREAKER_FAILURES", "BREAKER_OPEN_SECONDS", "ChannelPicker")

BREAKER_FAILURES = 5
BREAKER_OPEN_SECONDS = 30.0


class ChannelPicker:
    def __init__(self, cache: RelayCache) -> None:
        self.cache = cache
        self._cooling: dict[tuple[int, str], float] = {}
        self._failures: dict[int, int] = {}
        self._open_until: dict[int, float] = {}
        self._random = random.Random()

    def pick(self, group: str, model: str, exclude: Collection[int] = ()) -> CachedChannel | None:
        tiers = self.cache.tiers(group, model)
        if not tiers:
            return None
        now = time.monotonic()
        fallback: list[CachedChannel] = []
        for tier in tiers:
            choice = self._draw(tier, model, exclude, now, fallback)
            if choice is not None:
                return choice
        return self._random.choice(fallback) if fallback else None

    def _draw(self, tier: Tier, model: str, exclude: Collection[int], now: float,
              fallback: list[CachedChannel]) -> CachedChannel | None:
        if len(tier.channels) == 1 and not exclude and not self._cooling and not self._open_until:
            return tier.channels[0]  # the common case, without bookkeeping
        members: list[CachedChannel] = []
        weights: list[int] = []
        for channel, weight in zip(tier.channels, tier.weights, strict=True):
            if channel.id in exclude:
                continue
            if self._is_cooling(channel.id, model, now) or self._is_open(channel.id, now):
                fallback.append(channel)
                continue
            members.append(channel)
            weights.append(weight)
        if not members:
            return None
        if len(members) == 1:
            return members[0]
        return self._random.choices(members, weights)[0]

    def _is_cooling(self, channel_id: int, model: str, now: float) -> bool:
        until = self._cooling.get((channel_id, model))
        if until is None:
            return False
        if until <= now:
            del self._cooling[(channel_id, model)]
            return False
        return True

    def _is_open(self, channel_id: int, now: float) -> bool:
        until = self._open_until.get(channel_id)
        if until is None:
            return False
        if until <= now:
            del self._open_until[channel_id]  # half-open: let the next request through
            self._failures[channel_id] = BREAKER_FAILURES - 1
            return False
        return True

    # -- feedback from the relay ----------------------------------------------------
    def succeeded(self, channel_id: int) -> None:
        if self._failures:
            self._failures.pop(channel_id, None)

    def failed(self, channel_id: int) -> None:
        count = self._failures.get(channel_id, 0) + 1
        self._failures[channel_id] = count
        if count >= BREAKER_FAILURES:
            self._open_until[channel_id] = time.monotonic() + BREAKER_OPEN_SECONDS

    def rate_limited(self, channel_id: int, model: str) -> None:
        seconds = options.get_float("RetryCooldownSeconds", 5.0)
        if seconds > 0:
            self._cooling[(channel_id, model)] = time.monotonic() + seconds
