"""Tokens carry per-minute limits (rpm_limit, tpm_limit) through create and update."""

from __future__ import annotations

from tests.api.conftest import Api


def test_token_rate_limit_fields(api_lite: Api) -> None:
    created = api_lite.ok("POST", "/api/token/", "alice", json={"name": "limited", "rpm_limit": 30,
                                                                "tpm_limit": 40000})
    assert (created["rpm_limit"], created["tpm_limit"]) == (30, 40000)
    updated = api_lite.ok("PUT", "/api/token/", "alice", json={"id": created["id"], "name": "limited",
                                                               "rpm_limit": 5, "tpm_limit": 0})
    assert (updated["rpm_limit"], updated["tpm_limit"]) == (5, 0)
    assert api_lite.ok("GET", f"/api/token/{created['id']}", "alice")["rpm_limit"] == 5
    message = api_lite.fails("POST", "/api/token/", "alice", json={"name": "bad", "rpm_limit": -1})
    assert "cannot be negative" in message
    plain = api_lite.ok("POST", "/api/token/", "alice", json={"name": "plain"})
    assert (plain["rpm_limit"], plain["tpm_limit"]) == (0, 0)
