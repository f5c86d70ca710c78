"""Remaining quota of users and limited tokens kept in Redis, so every replica reserves from one figure.

Keys are ``<prefix>quota:user:<id>`` and ``<prefix>quota:token:<id>``. The reservation
script (:mod:`oneapi.admission`) seeds an absent key from the caller's cached value (the
database plus this replica's unflushed deltas), checks and decrements it. Each use sets the
key's expiry again, so a counter lives while it is used and re-seeds after :func:`idle_expiry`
unused seconds. That idle time outlasts a cache reload plus a batch write: by the time a
key expires, every replica has reloaded since the last change reached the database, so the
new seed is current, and whatever drift a counter had is gone.

Settlements and refunds (reservation minus actual) are summed per key and sent in the
background, one script call for all that is pending (:meth:`QuotaCounters.adjust`), so
concurrent requests share the round trip. They are added only to keys still present: a key
seeded again since counts them through the cache it was seeded from.

Admin changes (management API writes, redemption top-ups) reach :meth:`QuotaCounters.follow`
as deltas, added with INCRBY to keys that exist. Deleting the key instead would be simpler
but wrong in two ways: the key holds what every replica has reserved and not yet written to
the database, which no single replica's cache knows, and a replica that has not reloaded
the change yet could seed the key again from the old value. An absent key needs nothing; it
is seeded from a cache that has the change (a replica still holding the old value could seed
it in the milliseconds before its reload; the idle expiry bounds that).

When Redis is down nothing is sent (a failed send marks it down) and the ledger reserves in
memory. Reservations made then are in the caches and the database but not in the counters,
so when Redis answers again :meth:`QuotaCounters.clear` deletes every counter to re-seed them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING

from oneapi.coalesce import CoalescedSums
from oneapi.redis_state import RedisUnavailable, Script, SharedState

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from oneapi.cache import CachedToken, CachedUser
    from oneapi.runtime import Runtime

__all__ = ("QuotaCounters", "idle_expiry")

log = logging.getLogger("oneapi.billing.counters")

_MIN_IDLE = 300

# KEYS: counters; ARGV: expiry seconds, then one delta per key. Keys that are absent stay so.
_ADD_TO_PRESENT = Script("""
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('INCRBY', key, ARGV[i + 1])
    redis.call('EXPIRE', key, ttl)
  end
end
return 0
""")


def idle_expiry(sync_frequency: float, batch_interval: float) -> int:
    """Seconds an unused counter lives: longer than a cache reload after its last write."""
    return int(max(_MIN_IDLE, sync_frequency + 2 * batch_interval + 30))


class QuotaCounters:
    """A runtime component (it sends pending adjustments when the process stops)."""

    def __init__(self, shared: SharedState, expiry: int = _MIN_IDLE) -> None:
        self.shared = shared
        self.expiry = expiry
        self._unsent: CoalescedSums[str] = CoalescedSums(self._send)

    def user_key(self, user_id: int) -> str:
        return self.shared.key("quota", "user", user_id)

    def token_key(self, token_id: int) -> str:
        return self.shared.key("quota", "token", token_id)

    def keys(self, token: CachedToken, user: CachedUser) -> tuple[list[str], list[int]]:
        """The counters a reservation takes from (the user's, then a limited token's) and their seeds."""
        if token.unlimited_quota:
            return [self.user_key(user.id)], [user.quota]
        return [self.user_key(user.id), self.token_key(token.id)], [user.quota, token.remain_quota]

    def adjust(self, token: CachedToken, user: CachedUser, delta: int) -> None:
        """Add ``delta`` to the request's counters soon, with whatever else is pending."""
        if not delta or not self.shared.available:
            return  # with Redis down, clear() re-seeds every counter once it is back
        for key in self.keys(token, user)[0]:
            self._unsent.add(key, delta)

    async def _send(self, batch: dict[str, int]) -> None:
        try:
            await self._add(batch)
        except RedisUnavailable:
            self._unsent.discard()  # dropped: clear() re-seeds every counter once Redis is back

    async def _add(self, deltas: Mapping[str, int]) -> None:
        await self.shared.run(_ADD_TO_PRESENT, list(deltas), [self.expiry, *deltas.values()])

    async def follow(self, tokens: Mapping[int, int], users: Mapping[int, int]) -> None:
        """Apply an admin's committed quota change (id -> amount added) to the counters."""
        deltas = {self.token_key(token_id): delta for token_id, delta in tokens.items() if delta}
        deltas.update((self.user_key(user_id), delta) for user_id, delta in users.items() if delta)
        if deltas:
            with contextlib.suppress(RedisUnavailable):  # then clear() re-seeds them once Redis is back
                await self._add(deltas)

    async def clear(self) -> None:
        """Delete every counter so each re-seeds from the caches (after a Redis outage)."""
        pattern = self.shared.key("quota", "*")
        cursor, deleted = 0, 0
        try:
            while True:
                cursor, keys = await self.shared.call(partial(_scan_page, at=cursor, pattern=pattern))
                if keys:
                    deleted += await self.shared.call(partial(_unlink, keys=keys))
                if not cursor:
                    break
        except RedisUnavailable:
            log.warning("quota counters: Redis went away while clearing them; cleared again when it is back")
            return
        log.info("quota counters: %d cleared after the Redis outage; they re-seed from the caches", deleted)

    # -- component ------------------------------------------------------------------------
    async def start(self, runtime: Runtime) -> None:
        runtime.on_quota_changed(self.follow)

    async def stop(self) -> None:
        """Let the pending send (settlements of the last requests) finish before Redis is closed."""
        await self._unsent.drained()


async def _scan_page(client: Redis, *, at: int, pattern: str) -> tuple[int, list[bytes | str]]:
    """One SCAN step; each is its own :meth:`SharedState.call`, so each has the call's time limit."""
    return await client.scan(at, match=pattern, count=1000)


async def _unlink(client: Redis, *, keys: list[bytes | str]) -> int:
    return await client.unlink(*keys)
