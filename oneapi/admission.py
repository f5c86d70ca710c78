"""Admitting a relayed request: its rate-limit windows and its quota reservation as one step.

With Redis up, one Lua script does both for all replicas at once: it checks every sliding
window (:mod:`oneapi.ratelimit`) and every shared quota counter (:mod:`oneapi.billing.counters`,
seeded from this replica's cache when absent), and only when all have room counts the
request in its RPM windows and takes the reservation from the counters. That is one round
trip per request, and a request refused for quota does not use up a request per minute.
The ledger then records the reservation (cache and database deltas) and copies the figures
the counters returned into the cache.

With Redis down or not configured, the same checks run on this process's windows and the
in-memory ledger, as they did before Redis.
"""

from __future__ import annotations

import time

from oneapi.billing.ledger import Ledger, Reservation
from oneapi.cache import CachedToken, CachedUser
from oneapi.ratelimit import WINDOW_SECONDS, RateLimits
from oneapi.redis_state import RedisUnavailable, Script

__all__ = ("Admission",)

# KEYS: n windows (hashes of unix second -> count), then the quota counters.
# ARGV: now, window seconds, n, per window (limit, cost), amount, counter expiry, per counter its seed.
# Returns {0, left per counter} when admitted; {1, full window (from 1), seconds until it has
# room}; {2, short counter (from 1), each counter's figure up to that one}.
_ADMIT = Script("""
local now = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local windows = tonumber(ARGV[3])
for i = 1, windows do
  local key = KEYS[i]
  local limit = tonumber(ARGV[2 + 2 * i])
  local cost = tonumber(ARGV[3 + 2 * i])
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
local base = 4 + 2 * windows
local amount = tonumber(ARGV[base])
local ttl = tonumber(ARGV[base + 1])
local seen = {}
for c = 1, #KEYS - windows do
  local have = tonumber(redis.call('GET', KEYS[windows + c]) or ARGV[base + 1 + c])
  seen[c] = have
  if have <= 0 or have < amount then
    return {2, c, unpack(seen)}
  end
end
for i = 1, windows do
  local cost = tonumber(ARGV[3 + 2 * i])
  if cost > 0 then
    redis.call('HINCRBY', KEYS[i], ARGV[1], cost)
    redis.call('EXPIRE', KEYS[i], span + 1)
  end
end
local left = {0}
for c = 1, #seen do
  left[c + 1] = seen[c] - amount
  redis.call('SET', KEYS[windows + c], string.format('%d', left[c + 1]), 'EX', ttl)
end
return left
""")


class Admission:
    def __init__(self, limits: RateLimits, ledger: Ledger) -> None:
        self.limits = limits
        self.ledger = ledger

    async def admit(self, token: CachedToken, user: CachedUser, amount: int) -> Reservation:
        """Count the request in its windows and reserve ``amount`` of quota.

        Raises:
            RateLimited: a window is full (429 with ``Retry-After``).
            QuotaExhausted: the user's or the token's quota cannot cover ``amount``.
        """
        windows = self.limits.windows(token, user)
        now = int(time.time())
        counters = self.ledger.counters
        if counters is not None and counters.shared.available:
            shared = counters.shared
            amount = max(amount, 0)
            keys, seeds = counters.keys(token, user)
            args: list[int] = [now, WINDOW_SECONDS, len(windows)]
            for window in windows:
                args += (window.limit, window.cost)
            args += (amount, counters.expiry, *seeds)
            try:
                result = await shared.run(_ADMIT, [shared.key(w.key) for w in windows] + keys, args)
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
            self.limits.admit_local(windows, now)
        return self.ledger.reserve(token, user, amount)
