"""Who may call what: every management route, as anonymous, alice, bob, an admin and root."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import CALLERS, Api
from tests.support.upstreams import OpenAIUpstream

COMMON, ADMIN, ROOT = 1, 10, 100
LEVEL = {"anonymous": 0, "alice": COMMON, "bob": COMMON, "admin": ADMIN, "root": ROOT}

# (method, path, json body or None, least role); {alice} etc. are filled with ids.
ROUTES: list[tuple[str, str, Any, int]] = [
    ("GET", "/api/user/self", None, COMMON),
    ("PUT", "/api/user/self", {"display_name": "Me"}, COMMON),
    ("GET", "/api/user/dashboard", None, COMMON),
    ("GET", "/api/user/aff", None, COMMON),
    ("GET", "/api/user/available_models", None, COMMON),
    ("GET", "/api/models", None, COMMON),
    ("GET", "/api/pricing/", None, COMMON),
    ("GET", "/api/token/", None, COMMON),
    ("GET", "/api/token/search?keyword=x", None, COMMON),
    ("POST", "/api/token/", {"name": "matrix"}, COMMON),
    ("GET", "/api/log/self", None, COMMON),
    ("GET", "/api/log/self/stat", None, COMMON),
    ("GET", "/api/log/self/search?keyword=x", None, COMMON),
    ("GET", "/api/user/", None, ADMIN),
    ("GET", "/api/user/search?keyword=a", None, ADMIN),
    ("GET", "/api/user/{alice}", None, ADMIN),
    ("POST", "/api/user/", {"username": "new{n}", "password": "password123"}, ADMIN),
    ("PUT", "/api/user/", {"id": "{alice}", "display_name": "Alice"}, ADMIN),
    ("POST", "/api/user/manage", {"id": "{alice}", "action": "enable"}, ADMIN),
    ("POST", "/api/topup", {"user_id": "{alice}", "quota": 5}, ADMIN),
    ("GET", "/api/channel/", None, ADMIN),
    ("GET", "/api/channel/search?keyword=c", None, ADMIN),
    ("GET", "/api/channel/models", None, ADMIN),
    ("GET", "/api/channel/types", None, ADMIN),
    ("POST", "/api/channel/", {"name": "m{n}", "type": 1, "key": "sk-matrix-{n}", "models": "gpt-4o"}, ADMIN),
    ("GET", "/api/channel/{channel}", None, ADMIN),
    ("GET", "/api/channel/test/{channel}", None, ADMIN),
    ("GET", "/api/channel/fetch_models/{channel}", None, ADMIN),
    ("PUT", "/api/channel/", {"id": "{channel}", "name": "c", "type": 1, "models": "gpt-4o"}, ADMIN),
    ("DELETE", "/api/channel/disabled", None, ADMIN),
    ("GET", "/api/group/", None, ADMIN),
    ("GET", "/api/redemption/", None, ADMIN),
    ("GET", "/api/redemption/search?keyword=r", None, ADMIN),
    ("POST", "/api/redemption/", {"name": "r", "quota": 10, "count": 1}, ADMIN),
    ("GET", "/api/redemption/{code}", None, ADMIN),
    ("PUT", "/api/redemption/", {"id": "{code}", "name": "r2"}, ADMIN),
    ("GET", "/api/log/", None, ADMIN),
    ("GET", "/api/log/stat", None, ADMIN),
    ("GET", "/api/log/search?keyword=x", None, ADMIN),
    ("DELETE", "/api/log/?target_timestamp=1", None, ADMIN),
    ("GET", "/api/option/", None, ROOT),
    ("PUT", "/api/option/", {"key": "Notice", "value": "hi"}, ROOT),
    ("PUT", "/api/pricing/", {"ModelRatio": {"gpt-4o": 1.25}}, ROOT),
    ("POST", "/api/pricing/reset", None, ROOT),
]


# Routes whose outcome for an allowed caller depends on timing or a vendor feature: only
# the guard is checked (denied below the role, never an auth error at or above it).
GUARD_ONLY: list[tuple[str, str, int]] = [
    ("GET", "/api/channel/test?scope=all", ADMIN),
    ("GET", "/api/channel/update_balance/{channel}", ADMIN),
    ("GET", "/api/channel/update_balance", ADMIN),
    ("POST", "/api/user/topup", COMMON),
    ("DELETE", "/api/token/{token}", COMMON),
    ("DELETE", "/api/redemption/{code}", ADMIN),
    ("DELETE", "/api/channel/{channel}", ADMIN),
    ("DELETE", "/api/user/{alice}", ADMIN),
]


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    return value


def test_every_route_by_role(api_sp: Api) -> None:
    api = api_sp
    with OpenAIUpstream() as upstream:
        channel = api.ok("POST", "/api/channel/", json={"name": "c", "type": 1, "key": "sk-x",
                                                         "models": "gpt-4o", "base_url": upstream.url})
        code_key = api.ok("POST", "/api/redemption/", json={"name": "r", "quota": 10, "count": 1})[0]
        code = api.ok("GET", "/api/redemption/search?keyword=r")[0]
        assert code["key"] == code_key
        counter = 0
        for method, path, body, least in ROUTES:
            for who in CALLERS:
                counter += 1
                ids = {"alice": api.ids["alice"], "channel": channel["id"], "code": code["id"], "n": counter}
                response = api.call(method, _fill(path, ids), who, json=_fill(body, ids))
                envelope = response.json()
                where = f"{method} {path} as {who}"
                if who == "anonymous":
                    assert response.status_code == 401 and envelope["success"] is False, where
                elif LEVEL[who] < least:
                    assert response.status_code == 403 and envelope["success"] is False, where
                else:
                    assert response.status_code == 200 and envelope["success"] is True, (where, envelope)


def test_guards_of_the_remaining_routes(api_sp: Api) -> None:
    api = api_sp
    ids = {"alice": api.ids["alice"], "channel": 999, "code": 999, "token": 999}
    for method, path, least in GUARD_ONLY:
        for who in CALLERS:
            response = api.call(method, _fill(path, ids), who,
                                json={"key": "f" * 32} if method == "POST" else None)
            where = f"{method} {path} as {who}"
            if who == "anonymous":
                assert response.status_code == 401, where
            elif LEVEL[who] < least:
                assert response.status_code == 403, where
            else:
                assert response.status_code == 200, where
    assert api.ok("GET", "/api/notice", "anonymous") == ""
    assert api.call("DELETE", "/api/user/self", "anonymous").status_code == 401
    api.ok("DELETE", "/api/user/self", "bob")


@pytest.mark.parametrize("who", ["bob", "admin", "root"])
def test_nobody_reaches_another_users_token(api_sp: Api, who: str) -> None:
    token = api_sp.ok("POST", "/api/token/", "alice", json={"name": "mine"})
    assert "not found" in api_sp.fails("GET", f"/api/token/{token['id']}", who)
    assert "not found" in api_sp.fails("DELETE", f"/api/token/{token['id']}", who)
    assert "not found" in api_sp.fails("PUT", "/api/token/", who, json={"id": token["id"], "name": "stolen"})
    assert api_sp.ok("GET", f"/api/token/{token['id']}", "alice")["name"] == "mine"


def test_common_users_see_only_their_own_logs(api_sp: Api) -> None:
    api_sp.add_log("alice", content="alice's call")
    api_sp.add_log("bob", content="bob's call")
    for who in ("alice", "bob"):
        rows = api_sp.ok("GET", "/api/log/self", who)
        assert [row["username"] for row in rows] == [who]
        assert "channel" not in rows[0] and "channel_id" not in rows[0]
        assert api_sp.ok("GET", "/api/log/self/search?keyword=", who)[0]["username"] == who
        assert api_sp.ok("GET", "/api/log/self/stat", who)["quota"] == 100
    assert len(api_sp.ok("GET", "/api/log/", "admin")) == 2


def test_admins_act_only_on_lower_roles(api_sp: Api, password_hash: str) -> None:
    api = api_sp
    api.add_user("admin2", 10, password_hash)
    for method, path, body in [("GET", "/api/user/{id}", None), ("DELETE", "/api/user/{id}", None),
                               ("PUT", "/api/user/", {"id": "{id}", "display_name": "x"}),
                               ("POST", "/api/user/manage", {"id": "{id}", "action": "disable"})]:
        for target in ("admin2", "root"):
            ids = {"id": api.ids[target]}
            message = api.fails(method, _fill(path, ids), "admin", json=_fill(body, ids))
            assert "same or a higher role" in message
    assert "raise a user" in api.fails("PUT", "/api/user/", "admin",
                                       json={"id": api.ids["alice"], "role": 10})
    assert "only root" in api.fails("POST", "/api/user/manage", "admin",
                                    json={"id": api.ids["alice"], "action": "promote"})
    assert api.ok("POST", "/api/user/manage", "root", json={"username": "alice", "action": "promote"}) == \
        {"role": 10, "status": 1}
    assert "root user cannot be" in api.fails("POST", "/api/user/manage", "root",
                                              json={"id": 1, "action": "disable"})
    assert "root user cannot be deleted" in api.fails("DELETE", "/api/user/self", "root")
