"""Tokens: create, list, search, read, update, enable/disable and delete one's own keys."""

from __future__ import annotations

import string
import time

import pytest

from tests.api.conftest import Api


def test_token_lifecycle(api_sp: Api) -> None:
    kinds: list[str] = []

    async def listener(changed: tuple[str, ...]) -> None:
        kinds.extend(changed)

    api_sp.runtime.on_data_changed(listener)
    created = api_sp.ok("POST", "/api/token/", "alice", json={
        "name": "ci", "remain_quota": 500, "expired_time": -1, "models": "gpt-4o, gpt-4o-mini",
        "subnet": "10.0.0.0/8, 192.168.1.5"})
    key = created["key"]
    assert len(key) == 48 and set(key) <= set(string.ascii_letters + string.digits)
    assert (created["models"], created["subnet"]) == ("gpt-4o,gpt-4o-mini", "10.0.0.0/8,192.168.1.5")
    assert created["status"] == 1 and created["user_id"] == api_sp.ids["alice"]
    assert kinds == ["tokens"]
    api_sp.ok("POST", "/api/token/", "alice", json={"name": "other"})
    assert [t["name"] for t in api_sp.ok("GET", "/api/token/", "alice")] == ["other", "ci"]
    assert [t["name"] for t in api_sp.ok("GET", "/api/token/search?keyword=c", "alice")] == ["ci"]
    assert api_sp.ok("GET", f"/api/token/{created['id']}", "alice")["key"] == key

    updated = api_sp.ok("PUT", "/api/token/", "alice", json={
        "id": created["id"], "name": "ci2", "remain_quota": 0, "unlimited_quota": True, "expired_time": -1})
    assert (updated["name"], updated["unlimited_quota"], updated["key"]) == ("ci2", True, key)
    off = api_sp.ok("PUT", "/api/token/?status_only=1", "alice", json={"id": created["id"], "status": 2})
    assert off["status"] == 2 and off["name"] == "ci2"
    assert api_sp.ok("PUT", "/api/token/?status_only=1", "alice",
                     json={"id": created["id"], "status": 1})["status"] == 1
    api_sp.ok("DELETE", f"/api/token/{created['id']}", "alice")
    assert "not found" in api_sp.fails("GET", f"/api/token/{created['id']}", "alice")
    assert api_sp.ok("GET", "/api/token/", "bob") == []


def test_expired_or_used_up_tokens_cannot_be_enabled(api_lite: Api) -> None:
    past = int(time.time()) - 60
    expired = api_lite.ok("POST", "/api/token/", "alice", json={"name": "old", "expired_time": past,
                                                                "unlimited_quota": True})
    api_lite.ok("PUT", "/api/token/?status_only=1", "alice", json={"id": expired["id"], "status": 2})
    assert "expired" in api_lite.fails("PUT", "/api/token/?status_only=1", "alice",
                                       json={"id": expired["id"], "status": 1})
    empty = api_lite.ok("POST", "/api/token/", "alice", json={"name": "empty", "remain_quota": 0})
    api_lite.ok("PUT", "/api/token/?status_only=1", "alice", json={"id": empty["id"], "status": 2})
    assert "used up" in api_lite.fails("PUT", "/api/token/?status_only=1", "alice",
                                       json={"id": empty["id"], "status": 1})
    assert "status is required" in api_lite.fails("PUT", "/api/token/?status_only=1", "alice",
                                                  json={"id": empty["id"]})


@pytest.mark.parametrize(("body", "message"), [
    ({"name": "n" * 31}, "token name must be at most 30 characters"),
    ({"name": "x", "subnet": "10.0.0.0/33"}, "is not an IP address or CIDR range"),
    ({"name": "x", "expired_time": 0}, "expired_time must be a unix time, or -1 for never"),
    ({"name": "x", "remain_quota": -1}, "remain_quota cannot be negative"),
    ({"name": "x", "unlimited_quota": "maybe"}, "Expected `bool`"),
])
def test_token_validation(api_lite: Api, body: dict[str, object], message: str) -> None:
    assert message in api_lite.fails("POST", "/api/token/", "alice", json=body)
