"""Quota reserved before an upstream call, settled after it, refunded on failure.

Every method runs on the event loop and never awaits, so a check and its decrement are
one atomic step: however many requests share a token, a reservation is granted only
while the remaining quota covers it, and the token can go below zero only by what a
settled request used beyond its own reservation. Changes reach the database through the
batch writer as deltas.
"""

from __future__ import annotations

from dataclasses import dataclass

from oneapi.cache import CachedToken, CachedUser
from oneapi.db.writer import BatchWriter
from oneapi.errors import QuotaExhausted

__all__ = ("Ledger", "Reservation")


@dataclass(slots=True)
class Reservation:
    token: CachedToken
    user: CachedUser
    amount: int
    settled: bool = False


class Ledger:
    def __init__(self, writer: BatchWriter) -> None:
        self.writer = writer

    def reserve(self, token: CachedToken, user: CachedUser, amount: int) -> Reservation:
        """Pre-consume ``amount`` from the user and (unless unlimited) the token.

        Raises:
            QuotaExhausted: 429 ``insufficient_quota``, as OpenAI answers an empty balance.
        """
        amount = max(amount, 0)
        if user.quota <= 0 or user.quota < amount:
            raise QuotaExhausted(f"the user's quota is not enough for this request (needs {amount}, "
                                 f"has {max(user.quota, 0)})")
        if not token.unlimited_quota and (token.remain_quota <= 0 or token.remain_quota < amount):
            raise QuotaExhausted(f"the token's quota is not enough for this request (needs {amount}, "
                                 f"has {max(token.remain_quota, 0)})")
        self._move(token, user, -amount, used=0, requests=0)
        return Reservation(token, user, amount)

    def settle(self, reservation: Reservation, actual: int, channel_id: int) -> None:
        """Charge ``actual`` in place of the reservation (once; later calls do nothing)."""
        if reservation.settled:
            return
        reservation.settled = True
        actual = max(actual, 0)
        self._move(reservation.token, reservation.user, reservation.amount - actual, used=actual, requests=1)
        if actual and channel_id:
            self.writer.add_channel(channel_id, actual)

    def refund(self, reservation: Reservation) -> None:
        """Give the reservation back (the request failed before anything was produced)."""
        if reservation.settled:
            return
        reservation.settled = True
        self._move(reservation.token, reservation.user, reservation.amount, used=0, requests=0)

    def _move(self, token: CachedToken, user: CachedUser, delta: int, *, used: int, requests: int) -> None:
        user.quota += delta
        self.writer.add_user(user.id, delta, used, requests)
        if not token.unlimited_quota:
            token.remain_quota += delta
            self.writer.add_token(token.id, delta, used)
        else:
            self.writer.add_token(token.id, 0, used)
