"""Users: registration, the caller's own account, admin management and validation."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from oneapi.db.models import Ability, Token
from tests.api.conftest import Api
from tests.support.db import get_engine


def test_register_then_login(api_sp: Api) -> None:
    api_sp.ok("PUT", "/api/option/", json={"key": "QuotaForNewUser", "value": "250"})
    assert api_sp.ok("POST", "/api/user/register", "anonymous",
                     json={"username": "carol", "password": "longenough1", "email": "c@example.com"}) is None
    login = api_sp.client.post("/api/user/login", json={"username": "carol", "password": "longenough1"})
    assert login.json()["data"]["role"] == 1
    me = api_sp.client.get("/api/user/self").json()["data"]
    assert me["quota"] == 250 and me["display_name"] == "carol" and me["group"] == "default"
    assert "password" not in me and "access_token" not in me
    tokens = api_sp.client.get("/api/token/").json()["data"]
    assert [(t["name"], t["unlimited_quota"], t["expired_time"]) for t in tokens] == [("default", True, -1)]


@pytest.mark.parametrize(("body", "message"), [
    ({"username": "a" * 13, "password": "longenough1"}, "username must be at most 12 characters"),
    ({"username": "", "password": "longenough1"}, "username is required"),
    ({"username": "dave", "password": "short"}, "password must be 8 to 20 characters"),
    ({"username": "dave", "password": "x" * 21}, "password must be 8 to 20 characters"),
    ({"username": "dave", "password": "longenough1", "display_name": "d" * 21},
     "display name must be at most 20 characters"),
    ({"username": "dave", "password": "longenough1", "email": "not-an-email"},
     "email is not a valid address"),
    ({"username": "dave", "password": "longenough1", "email": "e" * 45 + "@x.com"},
     "email must be at most 50 characters"),
    ({"username": "alice", "password": "longenough1"}, "username is already taken"),
    ({"password": "longenough1"}, "missing required field `username`"),
    ({"username": 5, "password": "longenough1"}, "Expected `str`, got `int`"),
])
def test_registration_validation(api_lite: Api, body: dict[str, object], message: str) -> None:
    assert message in api_lite.fails("POST", "/api/user/register", "anonymous", json=body)


def test_malformed_json_answers_in_the_envelope(api_lite: Api) -> None:
    response = api_lite.call("POST", "/api/user/register", "anonymous", content=b"{not json",
                             headers={"Content-Type": "application/json"})
    body = response.json()
    assert response.status_code == 200 and body["success"] is False and "malformed" in body["message"]


def test_registration_switches(api_lite: Api) -> None:
    body = {"username": "erin", "password": "longenough1"}
    api_lite.ok("PUT", "/api/option/", json={"key": "RegisterEnabled", "value": "false"})
    assert "closed" in api_lite.fails("POST", "/api/user/register", "anonymous", json=body)
    api_lite.ok("PUT", "/api/option/", json={"key": "RegisterEnabled", "value": "true"})
    api_lite.ok("PUT", "/api/option/", json={"key": "PasswordRegisterEnabled", "value": "false"})
    assert "password registration is closed" in api_lite.fails("POST", "/api/user/register", "anonymous",
                                                                json=body)


def test_invitation_rewards(api_lite: Api) -> None:
    api_lite.ok("PUT", "/api/option/", json={"key": "QuotaForInviter", "value": "70"})
    api_lite.ok("PUT", "/api/option/", json={"key": "QuotaForInvitee", "value": "30"})
    aff = api_lite.ok("GET", "/api/user/aff", "alice")
    assert len(aff) == 4
    api_lite.ok("POST", "/api/user/register", "anonymous",
                json={"username": "frank", "password": "longenough1", "aff_code": aff})
    frank = api_lite.ok("GET", "/api/user/search?keyword=frank", "admin")[0]
    assert frank["quota"] == 30 and frank["inviter_id"] == api_lite.ids["alice"]
    assert api_lite.ok("GET", "/api/user/self", "alice")["quota"] == 1000 + 70


def test_self_update_and_delete(api_sp: Api) -> None:
    updated = api_sp.ok("PUT", "/api/user/self", "alice",
                        json={"display_name": "Alice A", "password": "newpassword1"})
    assert updated["display_name"] == "Alice A"
    assert api_sp.call("GET", "/api/user/self", "alice").status_code == 401  # a new password ends the token
    login = api_sp.client.post("/api/user/login", json={"username": "alice", "password": "newpassword1"})
    assert login.json()["success"] is True
    api_sp.tokens["alice"] = api_sp.client.get("/api/user/token").json()["data"]
    assert "already taken" in api_sp.fails("PUT", "/api/user/self", "alice", json={"username": "bob"})
    assert "at most 12" in api_sp.fails("PUT", "/api/user/self", "alice", json={"username": "x" * 13})
    api_sp.ok("DELETE", "/api/user/self", "bob")
    assert api_sp.call("GET", "/api/user/self", "bob").status_code == 401
    names = [user["username"] for user in api_sp.ok("GET", "/api/user/?page_size=100")]
    assert "bob" not in names and "alice" in names
    api_sp.ok("POST", "/api/user/register", "anonymous", json={"username": "bob", "password": "longenough1"})


def test_admin_user_management(api_sp: Api) -> None:
    created = api_sp.ok("POST", "/api/user/", "admin", json={"username": "gina", "password": "longenough1"})
    assert created["role"] == 1 and created["display_name"] == "gina"
    assert "already taken" in api_sp.fails("POST", "/api/user/", "admin",
                                           json={"username": "gina", "password": "longenough1"})
    gid = created["id"]
    assert api_sp.ok("GET", f"/api/user/{gid}", "admin")["username"] == "gina"
    changed = api_sp.ok("PUT", "/api/user/", "admin", json={"id": gid, "quota": 5000, "group": "vip",
                                                             "display_name": "Gina"})
    assert (changed["quota"], changed["group"], changed["display_name"]) == (5000, "vip", "Gina")
    logs = api_sp.ok("GET", "/api/log/?type=3")
    assert logs[0]["username"] == "gina"
    assert logs[0]["content"] == "admin admin changed the quota from $0.000000 to $0.010000"
    assert api_sp.ok("POST", "/api/user/manage", "admin", json={"id": gid, "action": "disable"}) == \
        {"role": 1, "status": 2}
    assert api_sp.ok("POST", "/api/user/manage", "admin", json={"id": gid, "action": "enable"})["status"] == 1
    assert "already a common user" in api_sp.fails("POST", "/api/user/manage", "root",
                                                   json={"id": gid, "action": "demote"})
    assert api_sp.ok("POST", "/api/user/manage", "root", json={"id": gid, "action": "promote"})["role"] == 10
    assert api_sp.ok("POST", "/api/user/manage", "root", json={"id": gid, "action": "demote"})["role"] == 1
    assert "action must be" in api_sp.fails("POST", "/api/user/manage", "root",
                                            json={"id": gid, "action": "x"})
    api_sp.ok("DELETE", f"/api/user/{gid}", "admin")
    assert "not found" in api_sp.fails("GET", f"/api/user/{gid}", "admin")
    assert "not found" in api_sp.fails("GET", "/api/user/99999", "admin")


def test_user_list_pagination_and_search(api_sp: Api, password_hash: str) -> None:
    for index in range(12):
        api_sp.add_user(f"user{index:02d}", 1, password_hash)
    first = api_sp.ok("GET", "/api/user/?p=0")
    second = api_sp.ok("GET", "/api/user/?p=1")
    assert len(first) == 10 and len(second) == 6  # 4 fixture users + 12
    assert first[0]["username"] == "user11"  # newest first
    assert len(api_sp.ok("GET", "/api/user/?p=0&page_size=3")) == 3
    found = api_sp.ok("GET", "/api/user/search?keyword=user0&page_size=50")
    assert {user["username"] for user in found} == {f"user0{i}" for i in range(10)}
    assert "page_size" in api_sp.fails("GET", "/api/user/?page_size=0")


def test_dashboard_and_available_models(api: Api) -> None:
    import time

    now = int(time.time())
    api.add_log("alice", created_at=now, model_name="gpt-4o", quota=100)
    api.add_log("alice", created_at=now, model_name="gpt-4o", quota=50)
    api.add_log("alice", created_at=now - 86400, model_name="gpt-4o-mini", quota=7)
    api.add_log("alice", created_at=now - 30 * 86400, model_name="old", quota=1)
    api.add_log("bob", created_at=now, model_name="gpt-4o", quota=999)
    rows = api.ok("GET", "/api/user/dashboard", "alice")
    by_model = {row["ModelName"]: row for row in rows}
    assert set(by_model) == {"gpt-4o", "gpt-4o-mini"}
    assert by_model["gpt-4o"]["RequestCount"] == 2 and by_model["gpt-4o"]["Quota"] == 150
    assert by_model["gpt-4o"]["PromptTokens"] == 20 and by_model["gpt-4o"]["CompletionTokens"] == 10
    assert by_model["gpt-4o"]["Day"] == time.strftime("%Y-%m-%d", time.gmtime(now))
    api.ok("POST", "/api/channel/",
           json={"name": "c", "type": 1, "key": "k1", "models": "m1,m2", "group": "default"})
    api.ok("POST", "/api/channel/",
           json={"name": "v", "type": 1, "key": "k2", "models": "m3", "group": "vip"})
    assert api.ok("GET", "/api/user/available_models", "alice") == ["m1", "m2"]
    with Session(get_engine()) as session:
        assert len(session.exec(select(Ability)).all()) == 3
        assert session.exec(select(Token)).all() == []
