"""Quota reserved before an upstream call, settled after it, refunded on failure.

Every method runs on the event loop and never awaits, so a check and its decrement are
one atomic step: however many requests share a token, a reservation is granted only
while the remaining quota covers it, and the token can go below zero only by what a
settled request used beyond its own reservation. Reservations are held in memory (the
batch writer counts them for cache reloads); only settlements reach the database, through
the batch writer, which journals each one before the answer's last byte is sent.

With Redis, the check and decrement happen on counters every replica shares
(:mod:`oneapi.billing.counters`, reserved from by :mod:`oneapi.admission`), so that bound
holds across replicas; the ledger then records the granted reservation with
:meth:`Ledger.granted`, and its settlement or refund also adjusts those counters. The
cached figures are updated either way, so a replica without Redis works as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oneapi.cache import CachedToken, CachedUser
from oneapi.db.writer import BatchWriter
from oneapi.errors import QuotaExhausted

if TYPE_CHECKING:
    from oneapi.billing.counters import QuotaCounters

__all__ = ("Ledger", "Reservation")


@dataclass(slots=True)
class Reservation:
    token: CachedToken
    user: CachedUser
    amount: int
    settled: bool = False
    shared: bool = False  # taken from the Redis counters, which settling must adjust too


class Ledger:
    def __init__(self, writer: BatchWriter, counters: QuotaCounters | None = None,
                 on_settled: Callable[[int, int, int], None] | None = None) -> None:
        self.writer = writer
        self.counters = counters  # Redis's, shared by every replica, when REDIS_CONN_STRING is set
        # Told (user id, quota before, quota after) of each settlement, net of running requests
        # (oneapi.billing.reminder); it must not block.
        self.on_settled = on_settled

    def reserve(self, token: CachedToken, user: CachedUser, amount: int) -> Reservation:
        """Pre-consume ``amount`` from the user and (unless unlimited) the token, in memory.

        Raises:
            QuotaExhausted: 429 ``insufficient_quota``, as OpenAI answers an empty balance.
        """
        amount = max(amount, 0)
        if user.quota <= 0 or user.quota < amount:
            raise self.refusal(0, amount, user.quota)
        if not token.unlimited_quota and (token.remain_quota <= 0 or token.remain_quota < amount):
            raise self.refusal(1, amount, token.remain_quota)
        self._move(token, user, -amount, held=amount)
        return Reservation(token, user, amount)

    def granted(self, token: CachedToken, user: CachedUser, amount: int, left: Sequence[int]) -> Reservation:
        """Record a reservation the shared counters granted; ``left`` is what they hold now."""
        self._move(token, user, -amount, held=amount)
        self.mirror(token, user, left)
        return Reservation(token, user, amount, shared=True)

    @staticmethod
    def mirror(token: CachedToken, user: CachedUser, figures: Sequence[int]) -> None:
        """Copy the shared counters' figures (the user's, then the token's) into the cache.

        The cache then starts from what every replica spent if Redis goes away, and the
        token check at authentication refuses a spent token without asking Redis.
        """
        user.quota = figures[0]
        if len(figures) > 1:
            token.remain_quota = figures[1]

    @staticmethod
    def refusal(index: int, amount: int, has: int) -> QuotaExhausted:
        """The 429 when the user's (``index`` 0) or the token's (1) quota cannot cover ``amount``."""
        whose = "user" if index == 0 else "token"
        return QuotaExhausted(f"the {whose}'s quota is not enough for this request (needs {amount}, "
                              f"has {max(has, 0)})")

    def settle(self, reservation: Reservation, actual: int, channel_id: int,
               log_row: dict[str, Any] | None = None) -> None:
        """Charge ``actual`` in place of the reservation, with the request's log row (once; later
        calls do nothing). It is journaled when this returns: answer the client after it."""
        if reservation.settled:
            return
        reservation.settled = True
        actual = max(actual, 0)
        token, user = reservation.token, reservation.user
        self._move(token, user, reservation.amount - actual, held=-reservation.amount,
                   shared=reservation.shared)
        self.writer.settle(token.id, not token.unlimited_quota, user.id, actual, channel_id, log_row)
        if self.on_settled is not None and actual:
            after = user.quota + self.writer.held_by_user(user.id)
            self.on_settled(user.id, after + actual, after)

    def refund(self, reservation: Reservation) -> None:
        """Give the reservation back (the request failed before anything was produced)."""
        if reservation.settled:
            return
        reservation.settled = True
        self._move(reservation.token, reservation.user, reservation.amount, held=-reservation.amount,
                   shared=reservation.shared)

    def _move(self, token: CachedToken, user: CachedUser, delta: int, *, held: int,
              shared: bool = False) -> None:
        """Add ``delta`` to the cached figures and ``held`` to the reservations the writer holds."""
        user.quota += delta
        if not token.unlimited_quota:
            token.remain_quota += delta
        self.writer.hold(token.id, user.id, held)
        if shared and self.counters is not None:
            self.counters.adjust(token, user, delta)
