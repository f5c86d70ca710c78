"""Who may call what: every ``/api`` route of the app, as anonymous, alice, bob, an admin and root.

The routes come from the app's own route table, and the matrix below says who may call
each: a route the matrix does not list (or lists with another role than the handler
declares) fails the test, so a new route is guarded and tested before it ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar, Router, get
from litestar.testing import TestClient

from oneapi.api import auth
from oneapi.api.ip_limits import ip_limiter
from oneapi.exception_handlers import exception_handlers
from oneapi.server import create_app
from tests.api.conftest import CALLERS, Api
from tests.support.upstreams import OpenAIUpstream

PUBLIC, COMMON, ADMIN, ROOT = 0, 1, 10, 100
LEVEL = {"anonymous": 0, "alice": COMMON, "bob": COMMON, "admin": ADMIN, "root": ROOT}


@dataclass(frozen=True)
class Case:
    """A request to one route; ``{alice}``, ``{channel}``, ``{code}`` and ``{n}`` are filled in.

    ``answer=False``: only the guard is checked (denied below the role, never an auth error at
    or above it), for routes whose outcome depends on timing or a vendor feature, or changes
    what later calls see.
    """

    path: str
    least: int
    body: Any = None
    answer: bool = True
    status: int = 200  # of a public route's answer (a sign-in with a forged state is one-api's 403)


# (method, route as the app declares it) -> the request that exercises it; run in this order.
MATRIX: dict[tuple[str, str], Case] = {
    ("GET", "/api/status"): Case("/api/status", PUBLIC),
    ("GET", "/api/notice"): Case("/api/notice", PUBLIC),
    ("GET", "/api/about"): Case("/api/about", PUBLIC),
    ("GET", "/api/home_page_content"): Case("/api/home_page_content", PUBLIC),
    ("POST", "/api/user/login"): Case("/api/user/login", PUBLIC, {}),
    ("POST", "/api/user/register"): Case("/api/user/register", PUBLIC, {}),
    ("GET", "/api/user/logout"): Case("/api/user/logout", PUBLIC),
    ("GET", "/api/verification"): Case("/api/verification?email=", PUBLIC),
    ("GET", "/api/reset_password"): Case("/api/reset_password?email=x@example.com", PUBLIC),
    ("POST", "/api/user/reset"): Case("/api/user/reset", PUBLIC, {"email": "x@example.com", "token": "t"}),
    ("GET", "/api/oauth/email/bind"): Case("/api/oauth/email/bind?email=x@example.com&code=c", COMMON,
                                           answer=False),
    ("GET", "/api/oauth/state"): Case("/api/oauth/state", PUBLIC),
    ("GET", "/api/oauth/github"): Case("/api/oauth/github?code=c&state=s", PUBLIC, status=403),
    ("GET", "/api/oauth/oidc"): Case("/api/oauth/oidc?code=c&state=s", PUBLIC, status=403),
    ("GET", "/api/oauth/lark"): Case("/api/oauth/lark?code=c&state=s", PUBLIC, status=403),
    ("GET", "/api/oauth/wechat"): Case("/api/oauth/wechat?code=c", PUBLIC),
    ("GET", "/api/oauth/wechat/bind"): Case("/api/oauth/wechat/bind?code=c", PUBLIC),
    ("POST", "/api/user/login/2fa"): Case("/api/user/login/2fa", PUBLIC, {"code": "123456"}),
    ("GET", "/api/user/2fa/setup"): Case("/api/user/2fa/setup", COMMON),
    ("POST", "/api/user/2fa/enable"): Case("/api/user/2fa/enable", COMMON, {"code": "000000"}, answer=False),
    ("POST", "/api/user/2fa/disable"): Case("/api/user/2fa/disable", COMMON, {"password": "x"}, answer=False),
    ("GET", "/api/user/self"): Case("/api/user/self", COMMON),
    ("PUT", "/api/user/self"): Case("/api/user/self", COMMON, {"display_name": "Me"}),
    ("GET", "/api/user/dashboard"): Case("/api/user/dashboard", COMMON),
    ("GET", "/api/user/dashboard/tokens"): Case("/api/user/dashboard/tokens", COMMON),
    ("GET", "/api/user/aff"): Case("/api/user/aff", COMMON),
    ("GET", "/api/user/available_models"): Case("/api/user/available_models", COMMON),
    ("GET", "/api/models"): Case("/api/models", COMMON),
    ("GET", "/api/pricing"): Case("/api/pricing/", COMMON),
    ("GET", "/api/pricing/self"): Case("/api/pricing/self", COMMON),
    ("POST", "/api/pricing/quote"): Case("/api/pricing/quote", COMMON, {"model": "gpt-4o"}),
    ("GET", "/api/token"): Case("/api/token/", COMMON),
    ("GET", "/api/token/search"): Case("/api/token/search?keyword=x", COMMON),
    ("POST", "/api/token"): Case("/api/token/", COMMON, {"name": "matrix"}),
    ("GET", "/api/token/{token_id:int}"): Case("/api/token/999", COMMON, answer=False),
    ("PUT", "/api/token"): Case("/api/token/", COMMON, {"id": 999, "name": "x"}, answer=False),
    ("DELETE", "/api/token/{token_id:int}"): Case("/api/token/999", COMMON, answer=False),
    ("GET", "/api/log/self"): Case("/api/log/self", COMMON),
    ("GET", "/api/log/self/stat"): Case("/api/log/self/stat", COMMON),
    ("GET", "/api/log/self/search"): Case("/api/log/self/search?keyword=x", COMMON),
    ("POST", "/api/user/topup"): Case("/api/user/topup", COMMON, {"key": "f" * 32}, answer=False),
    ("GET", "/api/user"): Case("/api/user/", ADMIN),
    ("GET", "/api/user/search"): Case("/api/user/search?keyword=a", ADMIN),
    ("GET", "/api/user/{user_id:int}"): Case("/api/user/{alice}", ADMIN),
    ("POST", "/api/user"): Case("/api/user/", ADMIN, {"username": "new{n}", "password": "password123"}),
    ("PUT", "/api/user"): Case("/api/user/", ADMIN, {"id": "{alice}", "display_name": "Alice"}),
    ("POST", "/api/user/manage"): Case("/api/user/manage", ADMIN, {"id": "{alice}", "action": "enable"}),
    ("POST", "/api/topup"): Case("/api/topup", ADMIN, {"user_id": "{alice}", "quota": 5}),
    ("GET", "/api/channel"): Case("/api/channel/", ADMIN),
    ("GET", "/api/channel/search"): Case("/api/channel/search?keyword=c", ADMIN),
    ("GET", "/api/channel/models"): Case("/api/channel/models", ADMIN),
    ("GET", "/api/channel/types"): Case("/api/channel/types", ADMIN),
    ("POST", "/api/channel"): Case("/api/channel/", ADMIN,
                                   {"name": "m{n}", "type": 1, "key": "sk-matrix-{n}", "models": "gpt-4o"}),
    ("GET", "/api/channel/{channel_id:int}"): Case("/api/channel/{channel}", ADMIN),
    ("GET", "/api/channel/test/{channel_id:int}"): Case("/api/channel/test/{channel}", ADMIN),
    ("GET", "/api/channel/fetch_models/{channel_id:int}"): Case("/api/channel/fetch_models/{channel}", ADMIN),
    ("POST", "/api/channel/{channel_id:int}/reveal_key"): Case("/api/channel/{channel}/reveal_key", ROOT),
    ("PUT", "/api/channel"): Case("/api/channel/", ADMIN,
                                  {"id": "{channel}", "name": "c", "type": 1, "models": "gpt-4o"}),
    ("DELETE", "/api/channel/disabled"): Case("/api/channel/disabled", ADMIN),
    ("GET", "/api/channel/test"): Case("/api/channel/test?scope=all", ADMIN, answer=False),
    ("GET", "/api/channel/update_balance/{channel_id:int}"): Case("/api/channel/update_balance/{channel}",
                                                                  ADMIN, answer=False),
    ("GET", "/api/channel/update_balance"): Case("/api/channel/update_balance", ADMIN, answer=False),
    ("GET", "/api/group"): Case("/api/group/", ADMIN),
    ("GET", "/api/redemption"): Case("/api/redemption/", ADMIN),
    ("GET", "/api/redemption/search"): Case("/api/redemption/search?keyword=r", ADMIN),
    ("POST", "/api/redemption"): Case("/api/redemption/", ADMIN, {"name": "r", "quota": 10, "count": 1}),
    ("GET", "/api/redemption/{code_id:int}"): Case("/api/redemption/{code}", ADMIN),
    ("PUT", "/api/redemption"): Case("/api/redemption/", ADMIN, {"id": "{code}", "name": "r2"}),
    ("GET", "/api/log"): Case("/api/log/", ADMIN),
    ("GET", "/api/log/stat"): Case("/api/log/stat", ADMIN),
    ("GET", "/api/log/search"): Case("/api/log/search?keyword=x", ADMIN),
    ("DELETE", "/api/log"): Case("/api/log/?target_timestamp=1", ADMIN),
    ("GET", "/api/option"): Case("/api/option/", ROOT),
    ("PUT", "/api/option"): Case("/api/option/", ROOT, {"key": "Notice", "value": "hi"}),
    ("PUT", "/api/pricing"): Case("/api/pricing/", ROOT, {"ModelRatio": {"gpt-4o": 1.25}}),
    ("POST", "/api/pricing/reset"): Case("/api/pricing/reset", ROOT),
    ("DELETE", "/api/redemption/{code_id:int}"): Case("/api/redemption/{code}", ADMIN, answer=False),
    ("DELETE", "/api/channel/{channel_id:int}"): Case("/api/channel/{channel}", ADMIN, answer=False),
    ("DELETE", "/api/user/{user_id:int}"): Case("/api/user/{alice}", ADMIN, answer=False),  # last: alice goes
}
# The caller's own access token and account: checked in test_own_account_routes.
OWN_ACCOUNT = {("GET", "/api/user/token"): COMMON, ("DELETE", "/api/user/self"): COMMON}


def _api_routes(app: Litestar) -> dict[tuple[str, str], int]:
    """Every /api (method, route) in the app with the role its handler declares (PUBLIC when public)."""
    found = {}
    for route in app.routes:
        if not route.path.startswith("/api/"):
            continue
        for handler in getattr(route, "route_handlers", ()):
            if handler.handler_name == "options_handler":
                continue
            declared = PUBLIC if handler.opt.get(auth.PUBLIC_OPT) is True else handler.opt.get(auth.ROLE_OPT)
            for method in handler.http_methods:
                found[(method, route.path)] = declared
    return found


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    return value


def test_the_matrix_lists_every_api_route_with_its_declared_role(clean_env: pytest.MonkeyPatch) -> None:
    declared = _api_routes(create_app().litestar)
    expected = {key: case.least for key, case in MATRIX.items()} | OWN_ACCOUNT
    missing = sorted(set(declared) - set(expected))
    assert not missing, f"routes missing from the authorization matrix: {missing}"
    assert not sorted(set(expected) - set(declared)), "matrix rows for routes the app no longer has"
    wrong = {key: (declared[key], least) for key, least in expected.items() if declared[key] != least}
    assert not wrong, f"declared role differs from the matrix (declared, matrix): {wrong}"


def test_every_route_by_role(api_sp: Api) -> None:
    api = api_sp
    with OpenAIUpstream() as upstream:
        channel = api.ok("POST", "/api/channel/", json={"name": "c", "type": 1, "key": "sk-x",
                                                         "models": "gpt-4o", "base_url": upstream.url})
        code_key = api.ok("POST", "/api/redemption/", json={"name": "r", "quota": 10, "count": 1})[0]
        code = api.ok("GET", "/api/redemption/search?keyword=r")[0]
        assert code["key"] == code_key
        counter = 0
        for (method, _route), case in MATRIX.items():
            api.management.ip_limits = ip_limiter()  # the public routes share one per-IP limit
            for who in CALLERS:
                counter += 1
                ids = {"alice": api.ids["alice"], "channel": channel["id"], "code": code["id"], "n": counter}
                response = api.call(method, _fill(case.path, ids), who, json=_fill(case.body, ids))
                envelope = response.json()
                where = f"{method} {case.path} as {who}"
                if case.least == PUBLIC:
                    assert response.status_code == case.status and "success" in envelope, (where, envelope)
                elif who == "anonymous":
                    assert response.status_code == 401 and envelope["success"] is False, where
                elif LEVEL[who] < case.least:
                    assert response.status_code == 403 and envelope["success"] is False, where
                elif case.answer:
                    assert response.status_code == 200 and envelope["success"] is True, (where, envelope)
                else:
                    assert response.status_code == 200, (where, envelope)


def test_own_account_routes(api_lite: Api) -> None:
    for method, path in OWN_ACCOUNT:
        assert api_lite.call(method, path, "anonymous").status_code == 401
    token = api_lite.ok("GET", "/api/user/token", "bob")
    api_lite.tokens["bob"] = token
    api_lite.ok("DELETE", "/api/user/self", "bob")
    assert api_lite.call("GET", "/api/user/self", "bob").status_code == 401


def test_a_handler_without_a_declared_role_is_refused() -> None:
    @get("/open", sync_to_thread=False)
    def forgotten() -> str:
        return "nobody said who may call this"

    @get("/open", opt=auth.public, sync_to_thread=False)
    def declared() -> str:
        return "public on purpose"

    guarded = [auth.require_role]
    with pytest.raises(RuntimeError, match=r"/api/open \(forgotten\)"):
        auth.check_declared(Litestar([Router("/api", guards=guarded, route_handlers=[forgotten])]))
    with pytest.raises(RuntimeError, match="/api/open"):
        auth.check_declared(Litestar([Router("/api", route_handlers=[declared])]))  # no require_role
    auth.check_declared(Litestar([Router("/api", guards=[auth.require_role], route_handlers=[declared])]))

    unchecked = Litestar([Router("/api", guards=[auth.require_role], route_handlers=[forgotten])],
                         exception_handlers=exception_handlers)  # type: ignore[arg-type]
    with TestClient(unchecked) as client:  # built without the boot check: the guard still refuses
        response = client.get("/api/open")
    assert response.status_code == 403 and "nobody" not in response.text


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
