"""Requests and tokens per minute, per token and per user, shared by every replica.

Limits come from the token (``rpm_limit``, ``tpm_limit``) and, per user, from the
``GroupRateLimit`` option (``{"default": {"rpm": 60, "tpm": 100000}}``); 0 or absent
means no limit. Each limited subject has a sliding one-minute window counted in
one-second buckets. A request is admitted only if every window has room (one request
for RPM; for TPM, tokens used in the window still below the limit), and admission adds
the request to the RPM windows in the same atomic step: a Lua script in Redis when it is
up, so the limit holds across replicas, else this process's own windows. Tokens are
added to the TPM windows when a request is billed. A refusal is a 429 with
``Retry-After`` (when the oldest counted second leaves the window).

A request on a token with no limits, in a group with none, costs one dict lookup.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from oneapi.errors import RateLimited
from oneapi.options import options

if TYPE_CHECKING:
    from oneapi.cache import CachedToken, CachedUser
    from oneapi.redis_state import SharedState

__all__ = ("RateLimits", "WINDOW_SECONDS")

log = logging.getLogger("oneapi.ratelimit")

WINDOW_SECONDS = 60

# KEYS: window hashes (field = unix second, value = count); ARGV: now, window, then per key
# (limit, cost). Returns {0, 0} when admitted (costs added), else {index of the full
# window (1-based), seconds until it has room}.
_ADMIT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local cost = tonumber(ARGV[2 + 2 * i])
  local data = redis.call('HGETALL', key)
  local total = 0
  local oldest = now
  for j = 1, #data, 2 do
    local second = tonumber(data[j])
    if second <= now - window then
      redis.call('HDEL', key, data[j])
    else
      total = total + tonumber(data[j + 1])
      if second < oldest then oldest = second end
    end
  end
  if total >= limit or total + cost > limit then
    return {i, oldest + window - now}
  end
end
for i, key in ipairs(KEYS) do
  local cost = tonumber(ARGV[2 + 2 * i])
  if cost > 0 then
    redis.call('HINCRBY', key, ARGV[1], cost)
    redis.call('EXPIRE', key, window + 1)
  end
end
return {0, 0}
"""


class _LocalWindows:
    """The same sliding windows in this process's memory (no Redis, or Redis down)."""

    def __init__(self) -> None:
        self._windows: dict[str, dict[int, int]] = {}

    def admit(self, keys: Sequence[str], limits: Sequence[tuple[int, int]], now: int) -> tuple[int, int]:
        for index, (key, (limit, cost)) in enumerate(zip(keys, limits, strict=True), start=1):
            window = self._windows.get(key)
            total, oldest = 0, now
            if window:
                for second in [s for s in window if s <= now - WINDOW_SECONDS]:
                    del window[second]
                total = sum(window.values())
                oldest = min(window, default=now)
            if total >= limit or total + cost > limit:
                return index, oldest + WINDOW_SECONDS - now
        for key, (_limit, cost) in zip(keys, limits, strict=True):
            if cost > 0:
                self.add(key, now, cost)
        return 0, 0

    def add(self, key: str, now: int, amount: int) -> None:
        window = self._windows.setdefault(key, {})
        window[now] = window.get(now, 0) + amount
        if len(self._windows) > 100_000:  # subjects idle for a minute hold nothing worth keeping
            self._windows = {k: w for k, w in self._windows.items() if max(w, default=0) > now - WINDOW_SECONDS}


class RateLimits:
    def __init__(self, shared: SharedState | None = None) -> None:
        self.shared = shared
        self._local = _LocalWindows()
        self._script = None
        self._group_version = -1
        self._group_limits: dict[str, tuple[int, int]] = {}
        self._adding: set[asyncio.Task[None]] = set()  # strong references until each finishes

    def attach(self, shared: SharedState) -> None:
        self.shared = shared

    def _group(self, group: str) -> tuple[int, int]:
        if self._group_version != options.version:
            self._group_version = options.version
            self._group_limits = _parse_group_limits(options.get_json("GroupRateLimit", {}))
        return self._group_limits.get(group, (0, 0))

    async def admit(self, token: CachedToken, user: CachedUser) -> None:
        """Count this request, or raise :class:`RateLimited` when a window is full."""
        user_rpm, user_tpm = self._group(user.group)
        if not (token.rpm_limit or token.tpm_limit or user_rpm or user_tpm):
            return
        keys: list[str] = []
        limits: list[tuple[int, int]] = []
        labels: list[str] = []
        for subject, rpm, tpm in (("token", token.rpm_limit, token.tpm_limit), ("user", user_rpm, user_tpm)):
            ident = token.id if subject == "token" else user.id
            if rpm > 0:
                keys.append(f"rl:{subject}:{ident}:rpm")
                limits.append((rpm, 1))
                labels.append(f"{subject} requests per minute ({rpm})")
            if tpm > 0:
                keys.append(f"rl:{subject}:{ident}:tpm")
                limits.append((tpm, 0))
                labels.append(f"{subject} tokens per minute ({tpm})")
        full, wait = await self._admit(keys, limits, int(time.time()))
        if full:
            raise RateLimited(f"rate limit reached: {labels[full - 1]}; try again in {wait} s",
                              retry_after=wait, code="rate_limit_exceeded")

    def used(self, token: CachedToken, user: CachedUser, tokens: int) -> None:
        """Add a billed request's tokens to the TPM windows (in the background)."""
        if tokens <= 0:
            return
        keys = [f"rl:token:{token.id}:tpm"] if token.tpm_limit > 0 else []
        if self._group(user.group)[1] > 0:
            keys.append(f"rl:user:{user.id}:tpm")
        if keys:
            task = asyncio.get_running_loop().create_task(self._add(keys, tokens, int(time.time())))
            self._adding.add(task)
            task.add_done_callback(self._adding.discard)

    async def _admit(self, keys: list[str], limits: list[tuple[int, int]], now: int) -> tuple[int, int]:
        shared = self.shared
        if shared is not None and shared.available:
            from oneapi.redis_state import RedisUnavailable

            args: list[int] = [now, WINDOW_SECONDS]
            for limit, cost in limits:
                args += [limit, cost]
            full_keys = [shared.key(key) for key in keys]
            try:
                result = await shared.call(lambda client: self._redis_script(client)(full_keys, args))
                return int(result[0]), max(1, math.ceil(float(result[1])))
            except RedisUnavailable:
                pass
        full, wait = self._local.admit(keys, limits, now)
        return full, max(1, wait) if full else 0

    async def _add(self, keys: list[str], amount: int, now: int) -> None:
        shared = self.shared
        if shared is not None and shared.available:
            from oneapi.redis_state import RedisUnavailable

            async def add(client: object) -> None:
                async with client.pipeline(transaction=False) as pipe:  # type: ignore[attr-defined]
                    for key in keys:
                        pipe.hincrby(shared.key(key), str(now), amount)
                        pipe.expire(shared.key(key), WINDOW_SECONDS + 1)
                    await pipe.execute()

            try:
                await shared.call(add)
                return
            except RedisUnavailable:
                pass
        for key in keys:
            self._local.add(key, now, amount)

    def _redis_script(self, client: object):  # type: ignore[no-untyped-def]
        if self._script is None:
            self._script = client.register_script(_ADMIT)  # type: ignore[attr-defined]
        return self._script


def _parse_group_limits(value: object) -> dict[str, tuple[int, int]]:
    if not isinstance(value, dict):
        if value:
            log.warning("option GroupRateLimit is not a JSON object; ignoring it")
        return {}
    parsed: dict[str, tuple[int, int]] = {}
    for group, limits in value.items():
        if isinstance(limits, dict):
            try:
                parsed[str(group)] = (max(int(limits.get("rpm") or 0), 0), max(int(limits.get("tpm") or 0), 0))
            except (TypeError, ValueError):
                log.warning("option GroupRateLimit: bad limits for group %r", group)
    return parsed
