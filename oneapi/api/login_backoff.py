"""Per-account back-off for password logins, besides the per-IP limit.

The per-IP limit (20 tries per 20 minutes) does not stop a guesser with many addresses
from working through one account's passwords, so tries are also counted per submitted
name, known or not (the answers never tell which names exist). From the
:data:`FREE_TRIES`-th failure in a row on, each failure locks the name, each time for
twice as long (1 s, 2 s, 4 s, ... up to 15 minutes). While a name is locked its logins
are refused with 429 before the password is checked, so a locked name yields no
guesses; a success clears the count.

A try is counted when it starts (its lock, if any, taking effect at once) and forgiven
when it succeeds, so a burst of parallel guesses is held to the same budget as a
sequence; a failed try's lock then runs from the moment it failed. A stranger can keep
someone locked out by failing on purpose, for at most 15 minutes per failure, and the
per-IP limit bounds how many failures one address adds.

With Redis (``REDIS_CONN_STRING``) the counts are shared by every replica, one script per
step (names are stored hashed); without it, or while it is down, each process counts on
its own. Counts are forgotten a day after the last try.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oneapi.errors import RateLimited
from oneapi.i18n import N_
from oneapi.redis_state import RedisUnavailable, Script

if TYPE_CHECKING:
    from oneapi.redis_state import SharedState

__all__ = ("FREE_TRIES", "MAX_LOCK_SECONDS", "LoginBackoff")

FREE_TRIES = 5
MAX_LOCK_SECONDS = 15 * 60
FORGET_AFTER_SECONDS = 24 * 3600
MAX_NAMES = 100_000  # in memory: beyond this, names that are not locked are forgotten

# The same step as LoginBackoff._local_step, on a hash per name. ARGV: "try" or "failed", now,
# FREE_TRIES, MAX_LOCK_SECONDS, FORGET_AFTER_SECONDS. Answers the seconds left of a lock as a
# string (a Lua number would come back truncated), "0" when not locked.
_STEP = Script("""
local now, free, longest = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local count
if ARGV[1] == 'try' then
  local locked = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
  if locked > now then return tostring(locked - now) end
  count = redis.call('HINCRBY', KEYS[1], 'count', 1)
else
  count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
  if count == 0 then return '0' end
end
if count >= free then
  redis.call('HSET', KEYS[1], 'until', tostring(now + math.min(2 ^ (count - free), longest)))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return '0'
""")


@dataclass(slots=True)
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class LoginBackoff:
    def __init__(self, shared: SharedState | None = None, clock: Callable[[], float] = time.time) -> None:
        self.shared = shared
        self._clock = clock  # wall-clock seconds: replicas compare them through Redis
        self._names: dict[str, _Failures] = {}

    async def attempt(self, name: str) -> None:
        """Count a try for ``name`` as failed until :meth:`succeeded` says otherwise.

        Raises:
            RateLimited: the name is locked; nothing is counted.
        """
        wait = await self._step("try", name)
        if wait > 0:
            seconds = math.ceil(wait)
            raise RateLimited(N_("too many failed logins for this account; try again in {seconds} s",
                                 seconds=seconds),
                              retry_after=seconds, code="login_locked")

    async def failed(self, name: str) -> None:
        """The try failed: its lock, if any, runs from now (the password check took a while)."""
        await self._step("failed", name)

    async def succeeded(self, name: str) -> None:
        key = name.lower()
        self._names.pop(key, None)
        shared = self.shared
        if shared is not None and shared.available:
            with contextlib.suppress(RedisUnavailable):
                await shared.call(lambda client: client.delete(_shared_key(shared, key)))

    async def _step(self, op: str, name: str) -> float:
        key, now = name.lower(), self._clock()
        shared = self.shared
        if shared is not None and shared.available:
            try:
                return float(await shared.run(_STEP, [_shared_key(shared, key)],
                                              [op, now, FREE_TRIES, MAX_LOCK_SECONDS, FORGET_AFTER_SECONDS]))
            except RedisUnavailable:
                pass
        return self._local_step(op, key, now)

    def _local_step(self, op: str, key: str, now: float) -> float:
        entry = self._names.get(key)
        if op == "try":
            if entry is not None and now < entry.locked_until:
                return entry.locked_until - now
            if entry is None or now - entry.last > FORGET_AFTER_SECONDS:
                if len(self._names) >= MAX_NAMES:
                    self._names = {k: v for k, v in self._names.items() if v.locked_until > now}
                entry = self._names[key] = _Failures()
            entry.count += 1
        elif entry is None:
            return 0.0
        entry.last = now
        if entry.count >= FREE_TRIES:
            entry.locked_until = now + min(2 ** (entry.count - FREE_TRIES), MAX_LOCK_SECONDS)
        return 0.0


def _shared_key(shared: SharedState, name: str) -> str:
    return shared.key("login", hashlib.sha256(name.encode()).hexdigest()[:32])
