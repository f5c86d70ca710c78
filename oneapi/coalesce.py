"""Amounts summed per key while one background send is on its way.

Settling quota counters and adding tokens to TPM windows both tell Redis about every
billed request, never on the request's path. Sending each on its own costs a round trip
per request; here, whatever arrives while a send is in flight is summed per key and goes
out in the next send, so concurrent requests share round trips and a lone request still
gets one at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ("CoalescedSums",)

K = TypeVar("K", bound=Hashable)


class CoalescedSums(Generic[K]):
    def __init__(self, send: Callable[[dict[K, int]], Awaitable[None]]) -> None:
        self._send = send
        self._pending: dict[K, int] = {}
        self._sending: asyncio.Task[None] | None = None

    def add(self, key: K, amount: int) -> None:
        """Add ``amount`` under ``key``; a send starts now unless one is on its way."""
        self._pending[key] = self._pending.get(key, 0) + amount
        if self._sending is None:
            self._sending = asyncio.get_running_loop().create_task(self._drain())

    def discard(self) -> None:
        """Drop what has not been sent (``send`` calls this when it gives up)."""
        self._pending.clear()

    async def drained(self) -> None:
        """Wait for the send on its way, and those it leads to, to finish."""
        if self._sending is not None:
            await asyncio.gather(self._sending, return_exceptions=True)

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                await self._send(batch)
        finally:
            self._sending = None
