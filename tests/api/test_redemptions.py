"""Redemption codes and top-ups, on every database (quota arithmetic and row locking)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from oneapi.api.context import using
from oneapi.api.redemptions import redeem
from oneapi.errors import InvalidRequest
from tests.api.conftest import Api


def test_codes_crud_and_redeem(api: Api) -> None:
    keys = api.ok("POST", "/api/redemption/", "admin", json={"name": "promo", "quota": 400, "count": 3})
    assert len(keys) == 3 and len(set(keys)) == 3 and all(len(key) == 32 for key in keys)
    codes = api.ok("GET", "/api/redemption/", "admin")
    assert [c["key"] for c in codes] == keys[::-1] and {c["status"] for c in codes} == {1}
    first = codes[-1]
    assert api.ok("GET", f"/api/redemption/{first['id']}", "admin")["quota"] == 400
    assert len(api.ok("GET", "/api/redemption/search?keyword=pro", "admin")) == 3
    assert api.ok("GET", f"/api/redemption/search?keyword={first['id']}", "admin")[0]["id"] == first["id"]
    renamed = api.ok("PUT", "/api/redemption/", "admin",
                     json={"id": first["id"], "name": "promo2", "quota": 500})
    assert (renamed["name"], renamed["quota"]) == ("promo2", 500)

    assert api.ok("POST", "/api/user/topup", "alice", json={"key": keys[0]}) == 500
    assert api.ok("GET", "/api/user/self", "alice")["quota"] == 1500
    assert "used or disabled" in api.fails("POST", "/api/user/topup", "bob", json={"key": keys[0]})
    assert "invalid redemption code" in api.fails("POST", "/api/user/topup", "bob", json={"key": "f" * 32})
    used = api.ok("GET", f"/api/redemption/{first['id']}", "admin")
    assert (used["status"], used["user_id"]) == (3, api.ids["alice"]) and used["redeemed_time"] > 0
    assert "redeemed already" in api.fails("PUT", "/api/redemption/?status_only=1", "admin",
                                           json={"id": first["id"], "status": 1})
    topups = api.ok("GET", "/api/log/self?type=1", "alice")
    assert len(topups) == 1 and topups[0]["content"] == f"redeemed code {first['id']}: $0.001000"

    second = codes[-2]
    api.ok("PUT", "/api/redemption/?status_only=1", "admin", json={"id": second["id"], "status": 2})
    assert "used or disabled" in api.fails("POST", "/api/user/topup", "bob", json={"key": keys[1]})
    api.ok("DELETE", f"/api/redemption/{second['id']}", "admin")
    assert "not found" in api.fails("GET", f"/api/redemption/{second['id']}", "admin")


@pytest.mark.parametrize(("body", "message"), [
    ({"name": "", "quota": 1, "count": 1}, "name must be 1 to 20 characters"),
    ({"name": "n" * 21, "quota": 1, "count": 1}, "name must be 1 to 20 characters"),
    ({"name": "n", "quota": 0, "count": 1}, "quota must be a positive number"),
    ({"name": "n", "quota": 1, "count": 101}, "count must be 1 to 100"),
    ({"name": "n", "quota": 1, "count": 0}, "count must be 1 to 100"),
])
def test_code_validation(api_lite: Api, body: dict[str, object], message: str) -> None:
    assert message in api_lite.fails("POST", "/api/redemption/", json=body)


def test_a_code_is_redeemed_once_under_concurrency(api: Api) -> None:
    key = api.ok("POST", "/api/redemption/", json={"name": "race", "quota": 1000, "count": 1})[0]
    users = [api.ids["alice"], api.ids["bob"]] * 4

    def attempt(user_id: int) -> int:
        try:
            with using(api.runtime.services.database):  # as the app's requests run it
                return redeem(user_id, key)
        except InvalidRequest:
            return 0

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, users))
    assert sorted(results) == [0] * 7 + [1000]
    quotas = [api.ok("GET", "/api/user/self", who)["quota"] for who in ("alice", "bob")]
    assert sum(quotas) == 1000 + 1000 + 1000


def test_admin_topup(api: Api) -> None:
    api.ok("POST", "/api/topup", "admin", json={"user_id": api.ids["bob"], "quota": 250, "remark": "refund"})
    assert api.ok("GET", "/api/user/self", "bob")["quota"] == 1250
    api.ok("POST", "/api/topup", "admin", json={"user_id": api.ids["bob"], "quota": -50})
    assert api.ok("GET", "/api/user/self", "bob")["quota"] == 1200
    assert "below zero" in api.fails("POST", "/api/topup", "admin",
                                     json={"user_id": api.ids["bob"], "quota": -5000})
    assert "not found" in api.fails("POST", "/api/topup", "admin", json={"user_id": 99999, "quota": 5})
    contents = [row["content"] for row in api.ok("GET", "/api/log/self?type=1", "bob")]
    assert contents == ["admin admin removed $0.000100", "admin admin added $0.000500 (refund)"]
