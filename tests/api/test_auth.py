"""Signing in: the session cookie, access tokens, and the per-IP rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from oneapi.server import create_app
from tests.api.conftest import PASSWORD, Api
from tests.support.db import dispose_engine


def _login(api: Api, name: str, password: str = PASSWORD) -> Any:
    api.client.cookies.clear()
    return api.client.post("/api/user/login", json={"username": name, "password": password})


def test_login_sets_a_session_cookie_that_authenticates(api_sp: Api) -> None:
    response = _login(api_sp, "alice")
    body = response.json()
    assert body["success"] is True and body["data"]["username"] == "alice" and body["data"]["role"] == 1
    assert "session" in response.cookies
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie
    assert api_sp.client.get("/api/user/self").json()["data"]["username"] == "alice"
    assert api_sp.client.get("/api/user/logout").json()["success"] is True
    assert api_sp.client.get("/api/user/self").status_code == 401


def test_login_by_email_and_failures(api_sp: Api) -> None:
    api_sp.ok("PUT", "/api/user/", json={"id": api_sp.ids["alice"], "email": "alice@example.com"})
    assert _login(api_sp, "alice@example.com").json()["data"]["username"] == "alice"
    assert _login(api_sp, "alice", "wrong-password").json() == {
        "success": False, "message": "wrong username or password", "data": None}
    assert "required" in _login(api_sp, "", "").json()["message"]
    api_sp.ok("POST", "/api/user/manage", json={"username": "alice", "action": "disable"})
    assert _login(api_sp, "alice").json()["message"] == "this user is disabled"


def test_a_disabled_user_is_locked_out_at_once(api_sp: Api) -> None:
    assert api_sp.ok("GET", "/api/user/self", "bob")["username"] == "bob"
    api_sp.ok("POST", "/api/user/manage", "admin", json={"username": "bob", "action": "disable"})
    response = api_sp.call("GET", "/api/user/self", "bob")
    assert response.status_code == 403 and response.json()["message"] == "this user is disabled"


def test_forged_cookies_and_tokens_are_refused(api_lite: Api) -> None:
    cookie = _login(api_lite, "alice").cookies["session"]
    client = api_lite.client
    client.cookies.clear()
    client.cookies.set("session", cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"))
    assert client.get("/api/user/self").status_code == 401
    client.cookies.clear()
    for header in ("nonsense", "sk-" + "a" * 48, "Bearer " + "0" * 32):
        response = client.get("/api/user/self", headers={"Authorization": header})
        assert response.status_code == 401 and response.json()["success"] is False
    plain = client.get("/api/user/self", headers={"Authorization": api_lite.tokens["alice"]})
    assert plain.json()["data"]["username"] == "alice"


def test_access_token_regeneration_revokes_the_old_one(api_lite: Api) -> None:
    old = api_lite.tokens["alice"]
    new = api_lite.ok("GET", "/api/user/token", "alice")
    assert isinstance(new, str) and len(new) == 32 and new != old
    assert api_lite.call("GET", "/api/user/self", "alice").status_code == 401
    api_lite.tokens["alice"] = new
    assert api_lite.ok("GET", "/api/user/self", "alice")["username"] == "alice"


def test_password_login_can_be_switched_off(api_lite: Api) -> None:
    api_lite.ok("PUT", "/api/option/", json={"key": "PasswordLoginEnabled", "value": False})
    assert "disabled" in _login(api_lite, "alice").json()["message"]


def test_login_is_limited_to_20_per_20_minutes_per_ip(api_lite: Api) -> None:
    client = api_lite.client
    for _ in range(20):
        answer = client.post("/api/user/login", json={}).json()
        assert answer["message"] == "username and password are required"
    response = client.post("/api/user/login", json={})
    assert response.status_code == 429
    assert response.json() == {"success": False, "message": "too many requests; try again later",
                               "data": None}
    assert int(response.headers["retry-after"]) > 1000
    assert client.post("/api/user/register", json={}).status_code == 429  # the same critical budget


@pytest.fixture
def limited_client(clean_env: pytest.MonkeyPatch) -> Iterator[TestClient[Any]]:
    clean_env.setenv("GLOBAL_API_RATE_LIMIT", "5")
    dispose_engine()
    with TestClient(create_app()) as client:
        yield client


def test_global_api_rate_limit(limited_client: TestClient[Any]) -> None:
    codes = [limited_client.get("/api/user/self").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert limited_client.get("/api/user/self").json()["success"] is False
    assert limited_client.get("/healthz").status_code == 200  # health checks are never limited
