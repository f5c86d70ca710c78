"""Reserve, settle, refund: the in-memory ledger every relayed request goes through."""

from __future__ import annotations

import pytest

from oneapi.billing.ledger import Ledger
from oneapi.cache import CachedToken, CachedUser
from oneapi.db.writer import BatchWriter
from oneapi.errors import QuotaExhausted
from tests.support.db import env_database


def _parties(user_quota: int = 1000, token_quota: int = 500, *,
             unlimited: bool = False) -> tuple[CachedToken, CachedUser]:
    user = CachedUser(id=7, username="alice", role=1, status=1, group="default", quota=user_quota)
    token = CachedToken(id=3, user_id=7, key="k", name="t", status=1, expired_time=-1,
                        remain_quota=token_quota, unlimited_quota=unlimited, models=None, subnets=None)
    return token, user


def test_settle_charges_what_was_used_and_gives_back_the_rest() -> None:
    writer = BatchWriter(env_database())
    ledger = Ledger(writer)
    token, user = _parties()
    reservation = ledger.reserve(token, user, 100)
    assert (user.quota, token.remain_quota) == (900, 400)
    assert writer.pending_quota() == ({3: -100}, {7: -100})  # held in memory for cache reloads
    assert writer.pending_logs == 0 and writer._pending.empty()  # a reservation is never written
    ledger.settle(reservation, 30, channel_id=9)
    ledger.settle(reservation, 30, channel_id=9)  # a second settlement changes nothing
    ledger.refund(reservation)  # nor does a refund after it
    assert (user.quota, token.remain_quota) == (970, 470)
    assert writer.pending_quota() == ({3: -30}, {7: -30})


def test_refund_returns_the_whole_reservation() -> None:
    writer = BatchWriter(env_database())
    ledger = Ledger(writer)
    token, user = _parties()
    ledger.refund(ledger.reserve(token, user, 100))
    assert (user.quota, token.remain_quota) == (1000, 500)
    assert writer.pending_quota() == ({}, {})


@pytest.mark.parametrize(("user_quota", "token_quota", "whose"), [(50, 500, "user"), (1000, 50, "token"),
                                                                   (0, 500, "user"), (1000, 0, "token")])
def test_a_reservation_beyond_either_quota_is_refused(user_quota: int, token_quota: int, whose: str) -> None:
    ledger = Ledger(BatchWriter(env_database()))
    token, user = _parties(user_quota, token_quota)
    with pytest.raises(QuotaExhausted, match=f"the {whose}'s quota is not enough") as refused:
        ledger.reserve(token, user, 100)
    assert refused.value.status_code == 429 and refused.value.code == "insufficient_quota"
    assert (user.quota, token.remain_quota) == (user_quota, token_quota)  # nothing taken


def test_an_unlimited_token_spends_only_its_user_quota() -> None:
    writer = BatchWriter(env_database())
    ledger = Ledger(writer)
    token, user = _parties(token_quota=0, unlimited=True)
    ledger.settle(ledger.reserve(token, user, 100), 40, channel_id=0)
    assert (user.quota, token.remain_quota) == (960, 0)
    assert writer.pending_quota() == ({3: 0}, {7: -40})
