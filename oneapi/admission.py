"""Admitting a relayed request: its rate-limit windows and its quota reservation as one step.

With Redis up, one Lua script does both for all replicas at once: it checks every sliding
window (:mod:`oneapi.relay.token_limits`) and every shared quota counter (:mod:`oneapi.billing.counters`,
seeded from this replica's cache when absent), and only when all have room counts the
request in its RPM windows and takes the reservation from the counters (so, with Redis, a
request refused for quota does not use up a request per minute). The ledger then records the
reservation (cache and database deltas) and copies the figures the counters returned into
the cache.

Requests waiting for admission share script calls: one call is in flight at a time and
carries every request that arrived meanwhile, in arrival order, so under load a request
costs a fraction of a round trip (a Redis call costs ~0.15 ms of CPU in redis-py), and a
lone request still exactly one.

With Redis down or not configured, the same checks run on this process's windows and the
in-memory ledger, as they did before Redis.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from oneapi.billing.ledger import Ledger, Reservation
from oneapi.cache import CachedToken, CachedUser
from oneapi.redis_state import RedisUnavailable, Script
from oneapi.relay.token_limits import WINDOW_SECONDS, RateLimits

__all__ = ("Admission",)

# ARGV: now, window seconds, number of requests, then per request: its number of windows and
# of counters, amount, counter expiry, (limit, cost) per window, seed per counter. KEYS: per
# request its windows (hashes of unix second -> count), then its counters. Returns per
# request {0, left per counter} when admitted; {1, full window (from 1), seconds until it
# has room}; {2, short counter (from 1), each counter's figure up to that one}.
_ADMIT = Script("""
local now = tonumber(ARGV[1])
local span = tonumber(ARGV[2])

local function admit(k, a, windows, counters, amount, ttl)
  for i = 1, windows do
    local key = KEYS[k + i]
    local limit = tonumber(ARGV[a + 2 * i - 1])
    local cost = tonumber(ARGV[a + 2 * i])
    local data = redis.call('HGETALL', key)
    local total = 0
    local oldest = now
    for j = 1, #data, 2 do
      local second = tonumber(data[j])
      if second <= now - span then
        redis.call('HDEL', key, data[j])
      else
        total = total + tonumber(data[j + 1])
        if second < oldest then oldest = second end
      end
    end
    if total >= limit or total + cost > limit then
      return {1, i, oldest + span - now}
    end
  end
  local seen = {}
  for c = 1, counters do
    local have = tonumber(redis.call('GET', KEYS[k + windows + c]) or ARGV[a + 2 * windows + c])
    seen[c] = have
    if have <= 0 or have < amount then
      return {2, c, unpack(seen)}
    end
  end
  for i = 1, windows do
    local cost = tonumber(ARGV[a + 2 * i])
    if cost > 0 then
      redis.call('HINCRBY', KEYS[k + i], ARGV[1], cost)
      redis.call('EXPIRE', KEYS[k + i], span + 1)
    end
  end
  local left = {0}
  for c = 1, counters do
    left[c + 1] = seen[c] - amount
    redis.call('SET', KEYS[k + windows + c], string.format('%d', left[c + 1]), 'EX', ttl)
  end
  return left
end

local results = {}
local k, a = 0, 3
for r = 1, tonumber(ARGV[3]) do
  local windows, counters = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  results[r] = admit(k, a + 4, windows, counters, tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]))
  k = k + windows + counters
  a = a + 4 + 2 * windows + counters
end
return results
""")


@dataclass(slots=True)
class _Ask:
    """One request's part of a script call."""

    token: CachedToken
    user: CachedUser
    amount: int
    keys: list[str]
    args: list[int]
    answer: asyncio.Future[list[int]]


class Admission:
    def __init__(self, limits: RateLimits, ledger: Ledger) -> None:
        self.limits = limits
        self.ledger = ledger
        self._waiting: list[_Ask] = []
        self._sending: asyncio.Task[None] | None = None

    async def admit(self, token: CachedToken, user: CachedUser, amount: int) -> Reservation:
        """Count the request in its windows and reserve ``amount`` of quota.

        Raises:
            RateLimited: a window is full (429 with ``Retry-After``).
            QuotaExhausted: the user's or the token's quota cannot cover ``amount``.
        """
        windows = self.limits.windows(token, user)
        counters = self.ledger.counters
        if counters is not None and counters.shared.available:
            amount = max(amount, 0)
            keys, seeds = counters.keys(token, user)
            args = [len(windows), len(keys), amount, counters.expiry]
            for window in windows:
                args += (window.limit, window.cost)
            args += seeds
            keys[:0] = [counters.shared.key(window.key) for window in windows]
            try:
                result = await self._ask(_Ask(token, user, amount, keys, args,
                                              asyncio.get_running_loop().create_future()))
            except RedisUnavailable:
                pass
            else:
                if result[0] == 1:
                    raise self.limits.refusal(windows[result[1] - 1], result[2])
                if result[0] == 2:
                    self.ledger.mirror(token, user, result[2:])
                    raise self.ledger.refusal(result[1] - 1, amount, result[-1])
                return self.ledger.granted(token, user, amount, result[1:])
        if windows:
            self.limits.admit_local(windows, int(time.time()))
        return self.ledger.reserve(token, user, amount)

    async def _ask(self, ask: _Ask) -> list[int]:
        self._waiting.append(ask)
        if self._sending is None:
            self._sending = asyncio.get_running_loop().create_task(self._send())
        return await ask.answer

    async def _send(self) -> None:
        """Send the waiting requests in one script call, again until none wait.

        Whatever happens, every request gets an answer: an error or this task's
        cancellation answers :class:`RedisUnavailable`, and the request falls back to memory.
        """
        counters = self.ledger.counters
        assert counters is not None
        asks: list[_Ask] = []
        try:
            while self._waiting:
                asks, self._waiting = self._waiting, []
                keys: list[str] = []
                args: list[int] = [int(time.time()), WINDOW_SECONDS, len(asks)]
                for ask in asks:
                    keys += ask.keys
                    args += ask.args
                try:
                    results = await counters.shared.run(_ADMIT, keys, args)
                except RedisUnavailable:
                    _fail(asks)
                    continue
                for ask, result in zip(asks, results, strict=True):
                    if not ask.answer.cancelled():
                        ask.answer.set_result(result)
                    elif result[0] == 0:
                        counters.adjust(ask.token, ask.user, ask.amount)  # its request is gone: give it back
        finally:
            self._sending = None
            _fail(asks)
            _fail(self._waiting)
            self._waiting = []


def _fail(asks: list[_Ask]) -> None:
    """Answer the asks still open with :class:`RedisUnavailable` (their requests use memory)."""
    for ask in asks:
        if not ask.answer.done():
            ask.answer.set_exception(RedisUnavailable())
