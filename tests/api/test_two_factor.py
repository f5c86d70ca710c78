"""Two-factor sign-in (TOTP): set-up, login with a code and with a recovery code (each once),
refused wrong and replayed codes, the back-off on wrong codes, turning it off, and the
option that makes it compulsory for admins."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from sqlmodel import Session

from oneapi.api import two_factor
from oneapi.api.login_backoff import LoginBackoff
from oneapi.bootstrap import reset_root_password
from oneapi.db.models import User
from tests.api.conftest import PASSWORD, Api
from tests.support.db import get_engine

T0 = 1_800_000_000.0  # a time-step boundary (30 s steps)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The time two_factor sees; a test moves it by changing ``clock[0]``."""
    now = [T0]
    monkeypatch.setattr(two_factor, "clock", lambda: now[0])
    return now


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret).at(when)


def turn_on(api: Api, who: str, when: float = T0) -> tuple[str, list[str]]:
    """Set up and enable two-factor sign-in for ``who``: the secret and the recovery codes."""
    setup = api.ok("GET", "/api/user/2fa/setup", who)
    enabled = api.ok("POST", "/api/user/2fa/enable", who, json={"code": code_at(setup["secret"], when)})
    return setup["secret"], enabled["recovery_codes"]


def password_login(api: Api, name: str, password: str = PASSWORD) -> dict[str, Any]:
    api.client.cookies.clear()
    return dict(api.client.post("/api/user/login", json={"username": name, "password": password}).json())


def second_factor(api: Api, code: str) -> dict[str, Any]:
    return dict(api.client.post("/api/user/login/2fa", json={"code": code}).json())


def signed_in_as(api: Api) -> str | None:
    answer = api.client.get("/api/user/self")
    return answer.json()["data"]["username"] if answer.status_code == 200 else None


def test_set_up_and_sign_in_with_codes(api: Api, clock: list[float]) -> None:
    """On SQLite, PostgreSQL and MySQL: a used step and a used recovery code are compare-and-set updates."""
    setup = api.ok("GET", "/api/user/2fa/setup", "alice")
    secret = setup["secret"]
    assert len(secret) == 32 and setup["uri"].startswith("otpauth://totp/One%20API:alice?secret=")
    assert setup["qr_svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')  # an <img> can show it
    assert setup["qr_svg"].rstrip().endswith("</svg>")
    me = api.ok("GET", "/api/user/self", "alice")
    assert me["totp_enabled"] is False and not {"totp_secret", "totp_recovery", "totp_last_step"} & set(me)
    assert password_login(api, "alice")["success"] is True  # set up, not yet on: no code asked

    wrong = "000000" if code_at(secret, T0) != "000000" else "111111"
    assert "wrong" in api.fails("POST", "/api/user/2fa/enable", "alice", json={"code": wrong})
    enabled = api.ok("POST", "/api/user/2fa/enable", "alice", json={"code": code_at(secret, T0)})
    codes = enabled["recovery_codes"]
    assert len(codes) == 10 == len(set(codes)) and all(len(code) == 19 for code in codes)
    assert api.ok("GET", "/api/user/self", "alice")["totp_enabled"] is True
    assert "already on" in api.fails("GET", "/api/user/2fa/setup", "alice")
    with Session(get_engine()) as session:
        stored = session.get(User, api.ids["alice"])
        assert stored is not None and stored.totp_recovery and codes[0] not in stored.totp_recovery

    asked = password_login(api, "alice")
    assert asked == {"success": False, "data": {"require_2fa": True}, "message": asked["message"]}
    assert signed_in_as(api) is None  # no session until the code
    assert "wrong or was already used" in second_factor(api, code_at(secret, T0))["message"]  # step used
    assert "wrong" in second_factor(api, wrong)["message"]
    assert second_factor(api, code_at(secret, T0 + 30))["success"] is True  # the next step: within the window
    assert signed_in_as(api) == "alice"

    password_login(api, "alice")
    assert second_factor(api, code_at(secret, T0 + 30))["success"] is False  # replayed
    clock[0] = T0 + 95
    assert second_factor(api, code_at(secret, T0 + 30))["success"] is False  # outside the window
    assert second_factor(api, code_at(secret, T0 + 60))["success"] is True  # one step late is fine

    password_login(api, "alice")
    assert second_factor(api, codes[0])["success"] is True
    password_login(api, "alice")
    assert second_factor(api, codes[0])["success"] is False  # a recovery code works once
    assert second_factor(api, codes[1].replace("-", "").upper())["success"] is True
    assert signed_in_as(api) == "alice"


def test_the_code_step_needs_a_live_pending_login(api_lite: Api, clock: list[float]) -> None:
    api = api_lite
    secret, _codes = turn_on(api, "alice")
    api.client.cookies.clear()
    assert "expired" in second_factor(api, code_at(secret, T0 + 30))["message"]
    password_login(api, "alice")
    pending = api.client.cookies.get(two_factor.PENDING_COOKIE)
    assert pending
    api.client.cookies.set(two_factor.PENDING_COOKIE, pending[:-2] + "xx", path=two_factor.PENDING_PATH)
    assert "expired" in second_factor(api, code_at(secret, T0 + 30))["message"]  # tampered
    # a password change in between ends the pending login too
    password_login(api, "alice")
    api.ok("PUT", "/api/user/", json={"id": api.ids["alice"], "password": "new-password-1"})
    assert second_factor(api, code_at(secret, T0 + 30))["success"] is False
    password_login(api, "alice", "new-password-1")
    assert second_factor(api, code_at(secret, T0 + 30))["success"] is True


def test_wrong_codes_lock_the_account(api_lite: Api, clock: list[float]) -> None:
    api = api_lite
    secret, _codes = turn_on(api, "alice")
    api.management.login_backoff = LoginBackoff(clock=lambda: 5000.0)  # a lock that does not run out
    password_login(api, "alice")
    wrong = "000000" if code_at(secret, T0 + 30) != "000000" else "111111"
    for _ in range(5):
        assert second_factor(api, wrong)["success"] is False
    locked = api.client.post("/api/user/login/2fa", json={"code": code_at(secret, T0 + 30)})
    assert locked.status_code == 429 and "too many failed" in locked.json()["message"]
    # a correct password does not lift the code lock
    assert password_login(api, "alice")["data"] == {"require_2fa": True}
    assert api.client.post("/api/user/login/2fa", json={"code": code_at(secret, T0 + 30)}).status_code == 429


def test_turning_it_off(api_lite: Api, clock: list[float]) -> None:
    api = api_lite
    secret, codes = turn_on(api, "alice")
    assert "enter a code" in api.fails("POST", "/api/user/2fa/disable", "alice", json={})
    assert "wrong" in api.fails("POST", "/api/user/2fa/disable", "alice", json={"password": "not-it-123"})
    api.ok("POST", "/api/user/2fa/disable", "alice", json={"password": PASSWORD})
    assert api.ok("GET", "/api/user/self", "alice")["totp_enabled"] is False
    assert password_login(api, "alice")["success"] is True
    assert "not on" in api.fails("POST", "/api/user/2fa/disable", "alice", json={"password": PASSWORD})

    clock[0] = T0 + 300
    secret, codes = turn_on(api, "alice", T0 + 300)
    api.ok("POST", "/api/user/2fa/disable", "alice", json={"code": codes[3]})  # a recovery code will do
    clock[0] = T0 + 600
    secret, codes = turn_on(api, "alice", T0 + 600)
    api.ok("POST", "/api/user/2fa/disable", "alice", json={"code": code_at(secret, T0 + 630)})


def test_admins_can_be_required_to_use_it(api_lite: Api, clock: list[float]) -> None:
    api = api_lite
    assert "your own two-factor" in api.fails("PUT", "/api/option/",
                                              json={"key": "TwoFactorRequiredForAdmins", "value": "true"})
    root_secret, _codes = turn_on(api, "root")
    api.ok("PUT", "/api/option/", json={"key": "TwoFactorRequiredForAdmins", "value": "true"})
    held = api.call("GET", "/api/channel/", "admin")
    assert held.status_code == 403 and "two-factor" in held.json()["message"]
    assert api.ok("GET", "/api/token/", "alice") is not None  # common users are not held
    assert api.ok("GET", "/api/user/self", "admin")["username"] == "admin"  # the set-up routes are open
    turn_on(api, "admin")
    assert isinstance(api.ok("GET", "/api/channel/", "admin"), list)
    api.ok("POST", "/api/user/2fa/disable", "root", json={"code": code_at(root_secret, T0 + 30)})
    assert api.call("GET", "/api/option/", "root").status_code == 403  # root is an admin too



def test_a_locked_out_user_is_let_back_in(api_lite: Api, clock: list[float]) -> None:
    api = api_lite
    turn_on(api, "alice")
    assert "same or a higher role" in api.fails("POST", "/api/user/manage", "admin",
                                                json={"id": api.ids["root"], "action": "disable_2fa"})
    api.ok("POST", "/api/user/manage", "admin", json={"id": api.ids["alice"], "action": "disable_2fa"})
    assert api.ok("GET", "/api/user/self", "alice")["totp_enabled"] is False
    assert password_login(api, "alice")["success"] is True

    clock[0] = T0 + 300
    turn_on(api, "root", T0 + 300)
    with Session(get_engine()) as session:  # the server's CLI: oneapi reset-root-password
        reset_root_password(session, "root-password-2")
    assert password_login(api, "root", "root-password-2")["success"] is True  # no code asked
