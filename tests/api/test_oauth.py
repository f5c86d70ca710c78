"""Sign-in and binding through GitHub, OpenID Connect and Lark against local providers that
speak the real protocols (tests/support/oauth_providers.py): authorization redirect, code
exchange with the client secret, userinfo, and for OIDC discovery and an RS256 ID token
checked against the provider's published keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from joserfc.jwk import RSAKey
from sqlmodel import Session, select

from oneapi.db.models import Token, User
from tests.api.conftest import PASSWORD, Api, _build
from tests.support.db import get_engine
from tests.support.oauth_providers import CLIENT_ID, CLIENT_SECRET, Providers, oauth_providers

SERVER = "https://gw.example.org"


@pytest.fixture
def idp(clean_env: pytest.MonkeyPatch, password_hash: str) -> Iterator[tuple[Api, Providers]]:
    """The API (SQLite) with GitHub's and Lark's fixed endpoints pointed at the local providers."""
    yield from _with_providers(clean_env, password_hash)


@pytest.fixture
def idp_any_db(db_env: pytest.MonkeyPatch, password_hash: str) -> Iterator[tuple[Api, Providers]]:
    """The same on SQLite, PostgreSQL and MySQL."""
    yield from _with_providers(db_env, password_hash)


def _with_providers(env: pytest.MonkeyPatch, password_hash: str) -> Iterator[tuple[Api, Providers]]:
    with oauth_providers() as providers:
        env.setenv("OAUTH_TEST_ORIGIN", providers.origin)
        for api in _build(env, password_hash):
            set_options(api, ServerAddress=SERVER, GitHubClientId=CLIENT_ID, GitHubClientSecret=CLIENT_SECRET,
                        GitHubOAuthEnabled=True, OidcClientId=CLIENT_ID, OidcClientSecret=CLIENT_SECRET,
                        OidcWellKnown=providers.well_known, OidcEnabled=True, LarkClientId=CLIENT_ID,
                        LarkClientSecret=CLIENT_SECRET)
            yield api, providers


def set_options(api: Api, **values: Any) -> None:
    for key, value in values.items():
        api.ok("PUT", "/api/option/", json={"key": key, "value": value})


def authorize(api: Api, provider: str, state: str) -> dict[str, str]:
    """What a browser does: open the provider's page (as /api/status names it) and follow it back."""
    status = api.client.get("/api/status").json()["data"]
    url = {"github": status["github_authorize_endpoint"], "oidc": status["oidc_authorization_endpoint"],
           "lark": status["lark_authorize_endpoint"]}[provider]
    query = {"client_id": CLIENT_ID, "redirect_uri": f"{SERVER}/oauth/{provider}", "state": state}
    if provider == "oidc":
        query.update(response_type="code", scope="openid profile email", nonce=state)
    back = httpx.get(url, params=query, follow_redirects=False)
    assert back.status_code == 302, back.text
    location = back.headers["location"]
    assert location.startswith(f"{SERVER}/oauth/{provider}?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def new_state(api: Api) -> str:
    state = api.client.get("/api/oauth/state").json()["data"]
    assert isinstance(state, str) and len(state) == 32
    return state


def sign_in(api: Api, provider: str, *, fresh_browser: bool = True, **headers: str) -> httpx.Response:
    if fresh_browser:
        api.client.cookies.clear()
    back = authorize(api, provider, new_state(api))
    return api.client.get(f"/api/oauth/{provider}", params=back, headers=headers)


def user_row(**where: Any) -> User | None:
    with Session(get_engine()) as session:
        query = select(User)
        for column, value in where.items():
            query = query.where(getattr(User, column) == value)
        return session.exec(query).first()


def count_users() -> int:
    with Session(get_engine()) as session:
        return len(session.exec(select(User)).all())


def test_github_first_sign_in_creates_the_account_and_the_second_signs_in(idp: tuple[Api, Providers]) -> None:
    api, providers = idp
    status = api.ok("GET", "/api/status", "anonymous")
    assert status["github_oauth"] is True and status["github_client_id"] == CLIENT_ID
    assert status["github_authorize_endpoint"].startswith(providers.origin)
    before = count_users()

    first = sign_in(api, "github").json()
    assert first["success"] is True, first
    created = user_row(github_id="1001")
    assert created is not None and first["data"]["id"] == created.id
    assert created.username == f"github_{created.id}" and created.display_name == "The Octocat"
    assert created.email == "octo@x.org"  # GitHub's /user has none: the primary verified address
    assert created.password == ""  # no password sign-in for it
    assert api.client.get("/api/user/self").json()["data"]["github_id"] == "1001"  # the session works
    with Session(get_engine()) as session:  # a new account gets its default token, as registration does
        assert session.exec(select(Token).where(Token.user_id == created.id)).first() is not None
    form = providers.token_requests[-1]["form"]
    assert (form["client_id"], form["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)

    second = sign_in(api, "github").json()
    assert second["success"] is True and second["data"]["id"] == created.id
    assert count_users() == before + 1


def test_accounts_and_bindings_on_every_database(idp_any_db: tuple[Api, Providers]) -> None:
    api, _providers = idp_any_db
    created = sign_in(api, "lark").json()["data"]
    assert created["username"] == f"lark_{created['id']}"
    assert sign_in(api, "lark").json()["data"]["id"] == created["id"]
    refused = sign_in(api, "lark", Authorization=api.tokens["bob"]).json()
    assert "already bound to another user" in refused["message"]
    assert sign_in(api, "github", Authorization=api.tokens["bob"]).json()["message"] == "bind"
    bob = user_row(id=api.ids["bob"])
    assert bob is not None and (bob.github_id, bob.lark_id) == ("1001", "")


def test_one_api_github_binding_by_login_still_signs_in(idp: tuple[Api, Providers]) -> None:
    api, _providers = idp
    with Session(get_engine()) as session:  # one-api kept the login in github_id
        bob = session.get(User, api.ids["bob"])
        assert bob is not None
        bob.github_id = "octocat"
        session.add(bob)
        session.commit()
    answer = sign_in(api, "github").json()
    assert answer["success"] is True and answer["data"]["id"] == api.ids["bob"]
    moved = user_row(id=api.ids["bob"])
    assert moved is not None and moved.github_id == "1001"


def test_forged_foreign_and_reused_states_are_refused(idp: tuple[Api, Providers]) -> None:
    api, _providers = idp
    api.client.cookies.clear()
    state = new_state(api)
    back = authorize(api, "github", state)
    forged = api.client.get("/api/oauth/github", params={**back, "state": "x" * 32})
    assert forged.status_code == 403 and "state" in forged.json()["message"]
    assert api.client.get("/api/oauth/github", params={"code": back["code"]}).status_code == 403  # no state

    kept = list(api.client.cookies.jar)
    api.client.cookies.clear()  # another browser: it has no state, or one of its own
    assert api.client.get("/api/oauth/github", params=back).status_code == 403
    new_state(api)
    assert api.client.get("/api/oauth/github", params=back).status_code == 403
    api.client.cookies.clear()
    for cookie in kept:
        api.client.cookies.jar.set_cookie(cookie)
    # the forged tries did not use it up: this browser's own state still works, once
    assert api.client.get("/api/oauth/github", params=back).json()["success"] is True
    again = api.client.get("/api/oauth/github", params=back)
    assert again.status_code == 403 and again.json()["success"] is False


def test_a_replayed_code_is_refused(idp: tuple[Api, Providers]) -> None:
    api, _providers = idp
    api.client.cookies.clear()
    back = authorize(api, "github", new_state(api))
    assert api.client.get("/api/oauth/github", params=back).json()["success"] is True
    api.client.cookies.clear()
    replay = api.client.get("/api/oauth/github", params={"code": back["code"], "state": new_state(api)})
    assert replay.status_code == 403 and replay.json()["success"] is False
    assert "GitHub refused the sign-in: bad_verification_code" in replay.json()["message"]


def test_oidc_sign_in_checks_the_id_token(idp: tuple[Api, Providers]) -> None:
    api, providers = idp
    status = api.ok("GET", "/api/status", "anonymous")
    assert status["oidc"] is True and status["oidc_client_id"] == CLIENT_ID
    assert status["oidc_authorization_endpoint"] == f"{providers.origin}/oidc/authorize"  # from discovery

    first = sign_in(api, "oidc").json()
    assert first["success"] is True, first
    user = user_row(oidc_id="oidc-sub-1")
    assert user is not None and user.username == "olivia" and user.display_name == "Olivia"
    assert user.email == "olivia@x.org"
    exchange = providers.token_requests[-1]
    assert exchange["authorization"].startswith("Basic ")  # the provider offers client_secret_basic only
    assert exchange["form"]["redirect_uri"] == f"{SERVER}/oauth/oidc"
    assert sign_in(api, "oidc").json()["data"]["id"] == user.id
    users = count_users()

    providers.oidc.subject, providers.oidc.login = "oidc-sub-2", "olivia"  # a new person, a taken name
    providers.sign_with = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert "ID token is not valid" in sign_in(api, "oidc").json()["message"]
    providers.sign_with = None
    providers.audience = "another-client"
    assert "ID token is not valid" in sign_in(api, "oidc").json()["message"]
    providers.audience = CLIENT_ID
    providers.nonce_override = "another-sign-in"
    assert "nonce" in sign_in(api, "oidc").json()["message"]
    assert count_users() == users  # nothing was created by the refused tokens

    providers.nonce_override = None
    created = sign_in(api, "oidc").json()
    assert created["success"] is True
    assert created["data"]["username"] == f"oidc_{created['data']['id']}"  # "olivia" is taken


def test_an_unreachable_oidc_provider(idp: tuple[Api, Providers]) -> None:
    api, _providers = idp
    set_options(api, OidcWellKnown="http://127.0.0.1:9/.well-known/openid-configuration")
    assert api.ok("GET", "/api/status", "anonymous")["oidc_authorization_endpoint"] == ""
    api.client.cookies.clear()
    answer = api.client.get("/api/oauth/oidc", params={"code": "c", "state": new_state(api)})
    assert answer.json()["success"] is False and "could not be read" in answer.json()["message"]


def test_binding_and_double_binding(idp: tuple[Api, Providers]) -> None:
    api, _providers = idp
    api.client.cookies.clear()
    signed_in = api.client.post("/api/user/login", json={"username": "alice", "password": PASSWORD})
    assert signed_in.json()["success"]
    bound = sign_in(api, "github", fresh_browser=False).json()
    assert bound == {"success": True, "message": "bind", "data": None}
    alice = user_row(id=api.ids["alice"])
    assert alice is not None and alice.github_id == "1001"

    # bob (by access token, as scripts call) cannot take the same GitHub account
    refused = sign_in(api, "github", Authorization=api.tokens["bob"]).json()
    assert refused["success"] is False and "already bound to another user" in refused["message"]
    bob = user_row(id=api.ids["bob"])
    assert bob is not None and bob.github_id == ""
    # and signing in with it now signs in as alice
    assert sign_in(api, "github").json()["data"]["id"] == api.ids["alice"]
    # bob binds OIDC; binding the same identity again to himself is fine
    assert sign_in(api, "oidc", Authorization=api.tokens["bob"]).json()["message"] == "bind"
    assert sign_in(api, "oidc", Authorization=api.tokens["bob"]).json()["message"] == "bind"


def test_lark_sign_in(idp: tuple[Api, Providers]) -> None:
    api, providers = idp
    assert api.ok("GET", "/api/status", "anonymous")["lark_client_id"] == CLIENT_ID
    answer = sign_in(api, "lark").json()
    assert answer["success"] is True, answer
    user = user_row(lark_id="ou_lark_1")
    assert user is not None and user.username == f"lark_{user.id}" and user.display_name == "Lark Person"
    exchange = providers.token_requests[-1]
    assert exchange["form"] == {"grant_type": "authorization_code", "code": exchange["form"]["code"],
                                "redirect_uri": f"{SERVER}/oauth/lark", "client_id": CLIENT_ID,
                                "client_secret": CLIENT_SECRET}  # sent as JSON, which the mock insists on
    assert sign_in(api, "lark").json()["data"]["id"] == user.id


def test_closed_registration_disabled_users_and_disabled_providers(idp: tuple[Api, Providers]) -> None:
    api, providers = idp
    set_options(api, RegisterEnabled=False)
    closed = sign_in(api, "github")
    assert closed.status_code == 403 and "registration is closed" in closed.json()["message"]
    assert user_row(github_id="1001") is None

    set_options(api, RegisterEnabled=True)
    user_id = sign_in(api, "github").json()["data"]["id"]
    api.ok("POST", "/api/user/manage", json={"id": user_id, "action": "disable"})
    disabled = sign_in(api, "github")
    assert disabled.status_code == 403 and "disabled" in disabled.json()["message"]

    set_options(api, GitHubOAuthEnabled=False, OidcEnabled=False, LarkClientId="")
    exchanges = len(providers.token_requests)
    for provider in ("github", "oidc", "lark"):
        api.client.cookies.clear()
        off = api.client.get(f"/api/oauth/{provider}", params={"code": "c", "state": new_state(api)}).json()
        assert off["success"] is False and "has not enabled" in off["message"]
    status = api.ok("GET", "/api/status", "anonymous")
    assert status["github_oauth"] is False and status["oidc"] is False and status["lark_client_id"] == ""
    assert len(providers.token_requests) == exchanges  # nothing was sent to a provider that is off


def test_two_factor_applies_to_provider_sign_in(idp: tuple[Api, Providers]) -> None:
    api, _providers = idp
    user_id = sign_in(api, "github").json()["data"]["id"]
    secret = pyotp.random_base32()
    with Session(get_engine()) as session:
        user = session.get(User, user_id)
        assert user is not None
        user.totp_secret, user.totp_enabled = secret, True
        session.add(user)
        session.commit()
    asked = sign_in(api, "github").json()
    assert asked["success"] is False and asked["data"] == {"require_2fa": True}
    assert api.client.get("/api/user/self").status_code == 401
    done = api.client.post("/api/user/login/2fa", json={"code": pyotp.TOTP(secret).now()}).json()
    assert done["success"] is True and done["data"]["id"] == user_id
    assert api.client.get("/api/user/self").json()["data"]["id"] == user_id


def test_enabling_a_provider_needs_its_credentials(api_lite: Api) -> None:
    def refused(key: str) -> str:
        return api_lite.fails("PUT", "/api/option/", json={"key": key, "value": "true"})

    assert "GitHubClientId, GitHubClientSecret" in refused("GitHubOAuthEnabled")
    set_options(api_lite, GitHubClientId="id")
    assert "GitHubClientSecret before" in refused("GitHubOAuthEnabled")
    set_options(api_lite, GitHubClientSecret="s3cret-github", GitHubOAuthEnabled=True)

    set_options(api_lite, OidcClientId="id", OidcClientSecret="s3cret-oidc", OidcAuthorizationEndpoint="https://a")
    assert "OidcWellKnown (or" in refused("OidcEnabled")
    set_options(api_lite, OidcTokenEndpoint="https://t", OidcUserinfoEndpoint="https://u", OidcEnabled=True)
    set_options(api_lite, LarkClientId="lark", LarkClientSecret="s3cret-lark")

    listed = {item["key"]: item["value"] for item in api_lite.ok("GET", "/api/option/")}
    assert listed["GitHubClientId"] == "id" and listed["OidcEnabled"] == "true"
    assert not {"GitHubClientSecret", "OidcClientSecret", "LarkClientSecret"} & set(listed)
    assert "s3cret" not in str(listed)
    status = api_lite.ok("GET", "/api/status", "anonymous")
    assert status["oidc_authorization_endpoint"] == "https://a" and "s3cret" not in str(status)


def test_wechat_is_not_offered(api_lite: Api) -> None:
    assert api_lite.ok("GET", "/api/status", "anonymous")["wechat_login"] is False
    for path in ("/api/oauth/wechat?code=x", "/api/oauth/wechat/bind?code=x"):
        response = api_lite.call("GET", path, "anonymous")
        assert response.status_code == 200
        assert "wechat-server" in api_lite.fails("GET", path, "anonymous")
