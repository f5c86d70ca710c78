"""Signing in against ``python app.py``: equal-cost logins, the per-account back-off, and
sessions that end for good (a copied cookie replayed after logout, a password change, a
role change, disabling or deleting is refused)."""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import httpx
import pytest

from oneapi.api.login_backoff import FREE_TRIES, MAX_LOCK_SECONDS, LoginBackoff
from oneapi.errors import RateLimited
from oneapi.security import BCRYPT_ROUNDS, UNKNOWN_USER_HASH
from tests.support.gateway import GatewayProcess, run_gateway

ROOT_PASSWORD = "root-password-1"
WRONG = "wrong-password"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewayProcess]:
    # DEFAULT_LANGUAGE: the messages compared below are the English ones
    with run_gateway(tmp_path, {"INITIAL_ROOT_PASSWORD": ROOT_PASSWORD, "DEFAULT_LANGUAGE": "en"}) as running:
        yield running


def _login(gateway: GatewayProcess, name: str, password: str) -> httpx.Response:
    return httpx.post(f"{gateway.base_url}/api/user/login", json={"username": name, "password": password},
                      timeout=10)


def _session(gateway: GatewayProcess, name: str, password: str) -> str:
    response = _login(gateway, name, password)
    assert response.json()["success"] is True, response.text
    return response.cookies["session"]


def _as(gateway: GatewayProcess, cookie: str, method: str, path: str, **kwargs: object) -> httpx.Response:
    """A request from a client that has nothing but a copy of the cookie."""
    return httpx.request(method, f"{gateway.base_url}{path}", cookies={"session": cookie}, timeout=10,
                         **kwargs)  # type: ignore[arg-type]


def _new_user(gateway: GatewayProcess, root: str, name: str, password: str) -> int:
    created = _as(gateway, root, "POST", "/api/user/", json={"username": name, "password": password})
    assert created.json()["success"] is True, created.text
    return int(created.json()["data"]["id"])


def _works(gateway: GatewayProcess, cookie: str) -> bool:
    response = _as(gateway, cookie, "GET", "/api/user/self")
    if response.status_code == 200 and response.json()["success"] is True:
        return True
    assert response.status_code == 401 and response.json()["success"] is False, response.text
    return False


# -- sessions ---------------------------------------------------------------------------
def test_a_replayed_cookie_is_refused_once_the_session_ends(gateway: GatewayProcess) -> None:
    root = _session(gateway, "root", ROOT_PASSWORD)
    alice = _new_user(gateway, root, "alice", "alice-pass-1")

    # logout ends every copy of the cookie, not only the browser's own
    copied = _session(gateway, "alice", "alice-pass-1")
    assert _works(gateway, copied)
    assert _as(gateway, copied, "GET", "/api/user/logout").json()["success"] is True
    assert not _works(gateway, copied)

    # a new password (self): other copies end, this browser gets a fresh cookie; the access token ends
    copied = _session(gateway, "alice", "alice-pass-1")
    token = _as(gateway, copied, "GET", "/api/user/token").json()["data"]
    changed = _as(gateway, copied, "PUT", "/api/user/self", json={"password": "alice-pass-2"})
    assert changed.json()["success"] is True and "session_version" not in changed.json()["data"]
    renewed = changed.cookies["session"]
    assert not _works(gateway, copied)
    assert _works(gateway, renewed)
    by_token = httpx.get(f"{gateway.base_url}/api/user/self", headers={"Authorization": token}, timeout=10)
    assert by_token.status_code == 401

    # a new password set by an admin
    assert _works(gateway, renewed)
    assert _as(gateway, root, "PUT", "/api/user/", json={"id": alice, "password": "alice-pass-3"}).json()[
        "success"] is True
    assert not _works(gateway, renewed)
    assert _login(gateway, "alice", "alice-pass-2").json()["message"] == "wrong username or password"

    # a role change; the access token stays and carries the new role
    copied = _session(gateway, "alice", "alice-pass-3")
    token = _as(gateway, copied, "GET", "/api/user/token").json()["data"]
    assert _as(gateway, root, "POST", "/api/user/manage", json={"id": alice, "action": "promote"}).json()[
        "data"] == {"role": 10, "status": 1}
    assert not _works(gateway, copied)
    as_admin = httpx.get(f"{gateway.base_url}/api/user/", headers={"Authorization": token}, timeout=10)
    assert as_admin.status_code == 200 and as_admin.json()["success"] is True
    copied = _session(gateway, "alice", "alice-pass-3")
    assert _as(gateway, root, "PUT", "/api/user/", json={"id": alice, "role": 1}).json()["success"] is True
    assert not _works(gateway, copied)
    demoted = httpx.get(f"{gateway.base_url}/api/user/", headers={"Authorization": token}, timeout=10)
    assert demoted.status_code == 403

    # disabling ends sessions for good: enabling again does not bring them back
    copied = _session(gateway, "alice", "alice-pass-3")
    _as(gateway, root, "POST", "/api/user/manage", json={"id": alice, "action": "disable"})
    assert not _works(gateway, copied)
    _as(gateway, root, "POST", "/api/user/manage", json={"id": alice, "action": "enable"})
    assert not _works(gateway, copied)

    # deleting
    copied = _session(gateway, "alice", "alice-pass-3")
    assert _as(gateway, root, "DELETE", f"/api/user/{alice}").json()["success"] is True
    assert not _works(gateway, copied)

    # the admin's own session was never touched
    assert _works(gateway, root)


# -- login cost and back-off --------------------------------------------------------------
def test_unknown_names_and_wrong_passwords_cost_the_same(gateway: GatewayProcess) -> None:
    root = _session(gateway, "root", ROOT_PASSWORD)
    _new_user(gateway, root, "kate", "kate-pass-1")
    _login(gateway, "warm-up", WRONG)
    unknown, known = [], []
    for attempt in range(5):  # interleaved, so a busy spell on the machine hits both sides
        started = time.perf_counter()
        answer = _login(gateway, f"nobody{attempt}", WRONG).json()
        unknown.append(time.perf_counter() - started)
        assert answer == {"success": False, "message": "wrong username or password", "data": None}
        started = time.perf_counter()
        answer = _login(gateway, "kate", WRONG if attempt < 4 else "kate-pass-1").json()
        known.append(time.perf_counter() - started)
        assert answer["success"] is (attempt == 4)
    slow, fast = sorted([statistics.median(unknown), statistics.median(known)], reverse=True)
    assert slow / fast < 2, (unknown, known)
    assert fast > 0.02  # both paths run bcrypt (an unknown name used to answer in 2 ms)


def test_one_api_hashes_verify_and_are_upgraded(gateway: GatewayProcess, tmp_path: Path) -> None:
    root = _session(gateway, "root", ROOT_PASSWORD)
    user_id = _new_user(gateway, root, "legacy", "placeholder-1")
    go_hash = bcrypt.hashpw(b"from-one-api", bcrypt.gensalt(10, prefix=b"2a")).decode()  # Go's DefaultCost
    with sqlite3.connect(tmp_path / "one-api.db") as db:
        db.execute("UPDATE users SET password = ? WHERE id = ?", (go_hash, user_id))
    assert _login(gateway, "legacy", "from-one-api").json()["success"] is True
    with sqlite3.connect(tmp_path / "one-api.db") as db:
        stored = db.execute("SELECT password FROM users WHERE id = ?", (user_id,)).fetchone()[0]
    assert stored.startswith(f"$2b${BCRYPT_ROUNDS}$") and bcrypt.checkpw(b"from-one-api", stored.encode())
    assert _login(gateway, "legacy", "from-one-api").json()["success"] is True


def test_failed_logins_lock_the_name_for_growing_times(gateway: GatewayProcess) -> None:
    root = _session(gateway, "root", ROOT_PASSWORD)
    _new_user(gateway, root, "lena", "lena-pass-1")
    for _ in range(FREE_TRIES):
        assert _login(gateway, "lena", WRONG).json()["message"] == "wrong username or password"

    locked = _login(gateway, "lena", "lena-pass-1")  # even the right password waits
    assert locked.status_code == 429 and locked.headers["retry-after"] == "1"
    assert locked.json() == {"success": False, "data": None,
                             "message": "too many failed logins for this account; try again in 1 s"}
    time.sleep(1.1)
    assert _login(gateway, "LENA", WRONG).json()["message"] == "wrong username or password"
    locked = _login(gateway, "lena", "lena-pass-1")
    assert locked.status_code == 429 and locked.headers["retry-after"] == "2"
    time.sleep(2.1)
    assert _login(gateway, "lena", "lena-pass-1").json()["success"] is True  # a success clears the count
    assert _login(gateway, "lena", WRONG).json()["message"] == "wrong username or password"

    for _ in range(FREE_TRIES):  # a name nobody has is locked the same way: no hint that it is unknown
        assert _login(gateway, "ghost", WRONG).json()["message"] == "wrong username or password"
    locked = _login(gateway, "ghost", WRONG)
    assert locked.status_code == 429 and "too many failed logins" in locked.json()["message"]


def test_back_off_schedule() -> None:
    now = [1000.0]
    backoff = LoginBackoff(clock=lambda: now[0])

    def step(method: str) -> None:
        asyncio.run(getattr(backoff, method)("mallory"))

    def locked_for() -> int:
        with pytest.raises(RateLimited) as refused:
            asyncio.run(backoff.attempt("Mallory"))
        return int(refused.value.headers["Retry-After"])

    waits = []
    for _ in range(FREE_TRIES - 1):
        step("attempt")
    for _ in range(14):
        step("attempt")
        waits.append(locked_for())
        now[0] += waits[-1]
    assert waits[:5] == [1, 2, 4, 8, 16] and waits[-1] == MAX_LOCK_SECONDS
    step("attempt")
    now[0] += 0.5
    step("failed")  # the lock runs from the failure
    assert locked_for() == MAX_LOCK_SECONDS
    now[0] += MAX_LOCK_SECONDS + 24 * 3600
    step("attempt")  # forgotten a day later: counted from one again, no lock
    step("attempt")
    asyncio.run(backoff.succeeded("MALLORY"))
    for _ in range(FREE_TRIES - 1):
        step("attempt")


def test_the_unknown_user_hash_costs_what_ours_cost() -> None:
    assert UNKNOWN_USER_HASH.decode().split("$")[2] == str(BCRYPT_ROUNDS)
