"""Per-account back-off for password logins, besides the per-IP limit.

The per-IP limit (20 tries per 20 minutes) does not stop a guesser with many addresses
from working through one account's passwords, so tries are also counted per submitted
name, known or not (the answers never tell which names exist). From the
:data:`FREE_TRIES`-th failure in a row on, each failure locks the name, each time for
twice as long (1 s, 2 s, 4 s, ... up to 15 minutes). While a
name is locked its logins are refused with 429 before the password is checked, so a
locked name yields no guesses; a success clears the count.

A try is counted when it starts (its lock, if any, taking effect at once) and forgiven
when it succeeds, so a burst of parallel guesses is held to the same budget as a
sequence; a failed try's lock then runs from the moment it failed. A stranger can keep someone locked out
by failing on purpose, for at most 15 minutes per failure, and the per-IP limit bounds
how many failures one address adds. Counts live in this process (each replica keeps
its own) and are forgotten a day after the last failure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from oneapi.errors import RateLimited

__all__ = ("FREE_TRIES", "MAX_LOCK_SECONDS", "LoginBackoff")

FREE_TRIES = 5
MAX_LOCK_SECONDS = 15 * 60
FORGET_AFTER_SECONDS = 24 * 3600
MAX_NAMES = 100_000  # beyond this, names that are not locked are forgotten


@dataclass(slots=True)
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class LoginBackoff:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._names: dict[str, _Failures] = {}

    def attempt(self, name: str) -> None:
        """Count a try for ``name`` as failed until :meth:`succeeded` says otherwise.

        Raises:
            RateLimited: the name is locked; nothing is counted.
        """
        now = self._clock()
        key = name.lower()
        entry = self._names.get(key)
        if entry is not None and now < entry.locked_until:
            wait = math.ceil(entry.locked_until - now)
            raise RateLimited(f"too many failed logins for this account; try again in {wait} s",
                              retry_after=wait, code="login_locked")
        if entry is None or now - entry.last > FORGET_AFTER_SECONDS:
            if len(self._names) >= MAX_NAMES:
                self._names = {k: v for k, v in self._names.items() if v.locked_until > now}
            entry = self._names[key] = _Failures()
        entry.count += 1
        self._lock(entry, now)

    def failed(self, name: str) -> None:
        """The try failed: its lock, if any, runs from now (the password check took a while)."""
        entry = self._names.get(name.lower())
        if entry is not None:
            self._lock(entry, self._clock())

    def succeeded(self, name: str) -> None:
        self._names.pop(name.lower(), None)

    @staticmethod
    def _lock(entry: _Failures, now: float) -> None:
        entry.last = now
        if entry.count >= FREE_TRIES:
            entry.locked_until = now + min(2 ** (entry.count - FREE_TRIES), MAX_LOCK_SECONDS)
