"""Requests and tokens per minute, per token and per user, shared by every replica.

Limits come from the token (``rpm_limit``, ``tpm_limit``) and, per user, from the
``GroupRateLimit`` option (``{"default": {"rpm": 60, "tpm": 100000}}``); 0 or absent
means no limit. Each limited subject has a sliding one-minute window counted in
one-second buckets. A request is admitted only if every window has room (one request
for RPM; for TPM, tokens used in the window still below the limit), and admission adds
the request to the RPM windows in the same atomic step: in Redis when it is up, so the
limit holds across replicas (:mod:`oneapi.admission` checks the windows in the same
script as the quota reservation), else in this process's own windows. Tokens are added
to the TPM windows when a request is billed. A refusal is a 429 with ``Retry-After``
(when the oldest counted second leaves the window).

A request on a token with no limits, in a group with none, costs one dict lookup. (The
management API's per-IP limits are :mod:`oneapi.api.ip_limits`.)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oneapi.coalesce import CoalescedSums
from oneapi.errors import RateLimited
from oneapi.options import options

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from oneapi.cache import CachedToken, CachedUser
    from oneapi.redis_state import SharedState

__all__ = ("WINDOW_SECONDS", "RateLimits", "Window")

log = logging.getLogger("oneapi.relay.token_limits")

WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Window:
    """One sliding window a request must fit in; ``cost`` is what admission adds (1 for RPM)."""

    key: str  # without SharedState's prefix
    limit: int
    cost: int
    label: str


class _LocalWindows:
    """The same sliding windows in this process's memory (no Redis, or Redis down)."""

    def __init__(self) -> None:
        self._windows: dict[str, dict[int, int]] = {}

    def admit(self, windows: Sequence[Window], now: int) -> tuple[int, int]:
        """``(0, 0)`` when admitted (costs added), else (index of the full window from 1, wait)."""
        for index, spec in enumerate(windows, start=1):
            window = self._windows.get(spec.key)
            total, oldest = 0, now
            if window:
                for second in [s for s in window if s <= now - WINDOW_SECONDS]:
                    del window[second]
                total = sum(window.values())
                oldest = min(window, default=now)
            if total >= spec.limit or total + spec.cost > spec.limit:
                return index, oldest + WINDOW_SECONDS - now
        for spec in windows:
            if spec.cost > 0:
                self.add(spec.key, now, spec.cost)
        return 0, 0

    def add(self, key: str, now: int, amount: int) -> None:
        window = self._windows.setdefault(key, {})
        window[now] = window.get(now, 0) + amount
        if len(self._windows) > 100_000:  # subjects idle for a minute hold nothing worth keeping
            since = now - WINDOW_SECONDS
            self._windows = {k: w for k, w in self._windows.items() if max(w, default=0) > since}


class RateLimits:
    def __init__(self, shared: SharedState | None = None) -> None:
        self.shared = shared
        self._local = _LocalWindows()
        self._group_version = -1
        self._group_limits: dict[str, tuple[int, int]] = {}
        self._unsent: CoalescedSums[tuple[str, int]] = CoalescedSums(self._add)  # (TPM window, second)

    def _group(self, group: str) -> tuple[int, int]:
        if self._group_version != options.version:
            self._group_version = options.version
            self._group_limits = _parse_group_limits(options.get_json("GroupRateLimit", {}))
        return self._group_limits.get(group, (0, 0))

    def windows(self, token: CachedToken, user: CachedUser) -> list[Window]:
        """The windows this request must fit in (none for a token and group without limits)."""
        user_rpm, user_tpm = self._group(user.group)
        if not (token.rpm_limit or token.tpm_limit or user_rpm or user_tpm):
            return []
        windows: list[Window] = []
        for subject, ident, rpm, tpm in (("token", token.id, token.rpm_limit, token.tpm_limit),
                                         ("user", user.id, user_rpm, user_tpm)):
            if rpm > 0:
                windows.append(Window(f"rl:{subject}:{ident}:rpm", rpm, 1,
                                      f"{subject} requests per minute ({rpm})"))
            if tpm > 0:
                windows.append(Window(f"rl:{subject}:{ident}:tpm", tpm, 0,
                                      f"{subject} tokens per minute ({tpm})"))
        return windows

    def admit_local(self, windows: Sequence[Window], now: int) -> None:
        """Count the request in this process's windows, or raise :class:`RateLimited`."""
        full, wait = self._local.admit(windows, now)
        if full:
            raise self.refusal(windows[full - 1], wait)

    @staticmethod
    def refusal(window: Window, wait: float) -> RateLimited:
        """The 429 for a full ``window`` that has room again in ``wait`` seconds."""
        seconds = max(1, math.ceil(wait))
        return RateLimited(f"rate limit reached: {window.label}; try again in {seconds} s",
                           retry_after=seconds, code="rate_limit_exceeded")

    def used(self, token: CachedToken, user: CachedUser, tokens: int) -> None:
        """Add a billed request's tokens to the TPM windows.

        In Redis this happens in the background (:class:`~oneapi.coalesce.CoalescedSums`),
        so concurrent requests share the round trip.
        """
        if tokens <= 0:
            return
        keys = [f"rl:token:{token.id}:tpm"] if token.tpm_limit > 0 else []
        if self._group(user.group)[1] > 0:
            keys.append(f"rl:user:{user.id}:tpm")
        now = int(time.time())
        if self.shared is None or not self.shared.available:
            for key in keys:
                self._local.add(key, now, tokens)
            return
        for key in keys:
            self._unsent.add((key, now), tokens)

    async def _add(self, batch: dict[tuple[str, int], int]) -> None:
        shared = self.shared
        if shared is not None and shared.available:
            from oneapi.redis_state import RedisUnavailable

            async def add(client: Redis) -> None:
                async with client.pipeline(transaction=False) as pipe:
                    for (key, second), amount in batch.items():
                        pipe.hincrby(shared.key(key), str(second), amount)
                        pipe.expire(shared.key(key), WINDOW_SECONDS + 1)
                    await pipe.execute()

            try:
                await shared.call(add)
                return
            except RedisUnavailable:
                pass
        for (key, second), amount in batch.items():
            self._local.add(key, second, amount)


def _parse_group_limits(value: object) -> dict[str, tuple[int, int]]:
    if not isinstance(value, dict):
        if value:
            log.warning("option GroupRateLimit is not a JSON object; ignoring it")
        return {}
    parsed: dict[str, tuple[int, int]] = {}
    for group, limits in value.items():
        if isinstance(limits, dict):
            try:
                rpm, tpm = int(limits.get("rpm") or 0), int(limits.get("tpm") or 0)
                parsed[str(group)] = (max(rpm, 0), max(tpm, 0))
            except (TypeError, ValueError):
                log.warning("option GroupRateLimit: bad limits for group %r", group)
    return parsed
