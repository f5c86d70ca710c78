"""Sign-in and binding through GitHub, OpenID Connect and Lark, with one-api's routes.

A page asks ``GET /api/oauth/state`` for a state, sends the browser to the provider with
it, and the provider sends the browser back to ``/oauth/<provider>?code=...&state=...``,
whose page calls ``GET /api/oauth/<provider>`` with both, as one-api's pages do. The state
is kept for the browser that asked (a random id in an ``oauth_browser`` cookie, the state in
:mod:`oneapi.api.codes`, so every replica sees it): it works once, for ten minutes, and a
forged or replayed one is refused with 403, as one-api refuses it.

A caller who is signed in binds the provider's identity to their account (the answer's
``message`` is ``"bind"``, which one-api's pages look for); anyone else is signed in as the
account that has it, or, when registration is open (``RegisterEnabled``), gets a new account
named as one-api names them (``github_<n>``, ``lark_<n>``, the OIDC ``preferred_username``
when free, else ``oidc_<n>``) with the provider's display name and email (an address
another account has is left out). An identity bound to another account is refused, and so
is a disabled account. Two-factor sign-in applies here as after a password
(:func:`oneapi.api.two_factor.complete_login`).

WeChat sign-in needs one-api's separate wechat-server and is not offered: its routes answer
that in the envelope.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import FromQuery, QueryParameter
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oneapi.api import auth
from oneapi.api.codes import OAUTH_STATE, VALID_SECONDS, email_codes
from oneapi.api.common import changed, ok, run_db
from oneapi.api.context import db_session, management, session_scope
from oneapi.api.ip_limits import critical_rate_limit
from oneapi.api.oauth_clients import (
    Identity,
    github_identity,
    lark_identity,
    oidc_identity,
)
from oneapi.api.two_factor import complete_login
from oneapi.api.users import USER_DELETED, check_email, create_account
from oneapi.db.models import Status, User
from oneapi.errors import Forbidden, GatewayError, InvalidRequest, UnsupportedFeature
from oneapi.i18n import N_
from oneapi.options import options
from oneapi.runtime import Runtime
from oneapi.security import generate_code

__all__ = ("github", "lark", "oauth_state", "oidc", "wechat", "wechat_bind")

Answer = Response[dict[str, Any]]
StateParam = Annotated[str, QueryParameter(name="state")]  # "state" is a name Litestar keeps for itself

BROWSER_COOKIE = "oauth_browser"
_BROWSER_ID = re.compile(r"^[A-Za-z0-9]{32}$")
STATE_LENGTH = 32
USERNAME_TRIES = 5
PROVIDERS = {"github": ("GitHub", "github_id"), "oidc": ("OIDC", "oidc_id"), "lark": ("Lark", "lark_id")}
_WECHAT = N_("WeChat sign-in is not available: it needs one-api's separate wechat-server, which this "
             "gateway does not support")


@get("/oauth/state", opt=auth.public, guards=[critical_rate_limit])
async def oauth_state(request: Request) -> Response[dict[str, Any]]:
    """A fresh state for this browser's next sign-in (it replaces the browser's previous one)."""
    browser = request.cookies.get(BROWSER_COOKIE, "")
    if not _BROWSER_ID.match(browser):
        browser = generate_code(32)
    state = await email_codes(request).issue(OAUTH_STATE, browser, STATE_LENGTH)
    response = Response(ok(state))
    response.set_cookie(Cookie(key=BROWSER_COOKIE, value=browser, max_age=int(VALID_SECONDS),
                               path="/api/oauth", httponly=True, samesite="strict"))
    return response


async def _take_state(request: Request, state: str) -> None:
    browser = request.cookies.get(BROWSER_COOKIE, "")
    if not state or not _BROWSER_ID.match(browser) or not await email_codes(request).consume(
            OAUTH_STATE, browser, state):
        raise Forbidden(N_("state is empty or not same: start the sign-in again"), code="oauth_state")


async def _signed_in(request: Request) -> User | None:
    """The caller when the request carries a live session or access token (then it binds)."""
    if not request.cookies.get(auth.SESSION_COOKIE) and not request.headers.get("authorization"):
        return None
    try:
        return await auth.authenticate(request)
    except GatewayError:
        return None


def _redirect_uri(request: Request, provider: str) -> str:
    """Where the provider sent the browser back: the page one-api's pages (and ours) register."""
    base = options.get("ServerAddress").strip().rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/oauth/{provider}"


def _check_enabled(provider: str) -> None:
    enabled = {"github": options.get_bool("GitHubOAuthEnabled"), "oidc": options.get_bool("OidcEnabled"),
               "lark": bool(options.get("LarkClientId").strip())}[provider]
    if not enabled:
        raise InvalidRequest(N_("the administrator has not enabled sign-in and registration through "
                                "{provider}", provider=PROVIDERS[provider][0]))


def _owner(session: Session, column: str, subject: str) -> User | None:
    if not subject:
        return None
    query = select(User).where(getattr(User, column) == subject, User.status != USER_DELETED)
    return session.exec(query.order_by(col(User.id))).first()


def _find(session: Session, identity: Identity) -> User | None:
    """The account bound to ``identity``; one bound by one-api (GitHub login) is moved to the id."""
    column = PROVIDERS[identity.provider][1]
    user = _owner(session, column, identity.subject)
    if user is None and identity.legacy_subject:
        user = _owner(session, column, identity.legacy_subject)
        if user is not None:
            setattr(user, column, identity.subject)
            session.add(user)
            session.commit()
            session.refresh(user)
    return user


def _new_username(session: Session, identity: Identity) -> str:
    def taken(name: str) -> bool:
        return session.exec(select(User.id).where(User.username == name)).first() is not None

    hint = identity.login if identity.provider == "oidc" else ""
    if hint and len(hint) <= 12 and hint.isprintable() and " " not in hint and not taken(hint):
        return hint
    number = (session.exec(select(func.max(User.id))).one() or 0) + 1
    while taken(f"{identity.provider}_{number}"):
        number += 1
    return f"{identity.provider}_{number}"


def _free_email(session: Session, email: str) -> str:
    try:
        email = check_email(email)
    except InvalidRequest:
        return ""
    if not email:
        return ""
    used = session.exec(select(User.id).where(User.email == email, User.status != USER_DELETED)).first()
    return "" if used is not None else email


def _sign_in_or_register(identity: Identity) -> tuple[User, bool]:
    """The account to sign in, and whether it was just made."""
    column = PROVIDERS[identity.provider][1]
    for _ in range(USERNAME_TRIES):
        with db_session(expire_on_commit=False) as session:
            user = _find(session, identity)
            if user is not None:
                if user.status != Status.ENABLED:
                    raise Forbidden(N_("this user is disabled"), code="user_disabled")
                return user, False
            if not options.get_bool("RegisterEnabled"):
                raise Forbidden(N_("registration is closed by the administrator"), code="registration_closed")
            try:
                user, _ = create_account(session, username=_new_username(session, identity), password_hash="",
                                         display_name=identity.display_name[:20],
                                         email=_free_email(session, identity.email),
                                         bindings={column: identity.subject})
                return user, True
            except InvalidRequest:  # another sign-in took the username in the meantime
                session.rollback()
            except IntegrityError:
                session.rollback()
    raise InvalidRequest(N_("no free username was found for the new account; try again"))


def _bind(user_id: int, identity: Identity) -> None:
    name, column = PROVIDERS[identity.provider]
    with session_scope() as session:
        owner = _find(session, identity)
        if owner is not None and owner.id != user_id:
            raise InvalidRequest(N_("this {provider} account is already bound to another user",
                                    provider=name))
        user = session.get(User, user_id)
        if user is None:
            raise InvalidRequest(N_("user not found"))
        setattr(user, column, identity.subject)
        session.add(user)


async def _identity(request: Request, provider: str, code: str, state: str) -> Identity:
    runtime: Runtime = request.app.state.runtime
    test_origin = runtime.settings.oauth_test_origin
    if provider == "github":
        return await github_identity(code, test_origin)
    if provider == "lark":
        return await lark_identity(code, _redirect_uri(request, provider), test_origin)
    return await oidc_identity(management(request).oidc_discovery, code, _redirect_uri(request, provider),
                               nonce=state)


async def _callback(request: Request, provider: str, code: str, state: str) -> Response[dict[str, Any]]:
    await _take_state(request, state)
    me = await _signed_in(request)
    _check_enabled(provider)
    identity = await _identity(request, provider, code, state)
    if me is not None:
        await run_db(_bind, me.id or 0, identity)
        await changed(request, "users")
        return Response(ok(message="bind"))
    user, created = await run_db(_sign_in_or_register, identity)
    if created:
        await changed(request, "users", "tokens")
    return complete_login(request, user)


@get("/oauth/github", opt=auth.public, guards=[critical_rate_limit])
async def github(request: Request, code: FromQuery[str] = "", given_state: StateParam = "") -> Answer:
    """Finish a GitHub sign-in (or bind GitHub to the signed-in caller)."""
    return await _callback(request, "github", code, given_state)


@get("/oauth/oidc", opt=auth.public, guards=[critical_rate_limit])
async def oidc(request: Request, code: FromQuery[str] = "", given_state: StateParam = "") -> Answer:
    """Finish an OpenID Connect sign-in (or bind it to the signed-in caller)."""
    return await _callback(request, "oidc", code, given_state)


@get("/oauth/lark", opt=auth.public, guards=[critical_rate_limit])
async def lark(request: Request, code: FromQuery[str] = "", given_state: StateParam = "") -> Answer:
    """Finish a Lark sign-in (or bind Lark to the signed-in caller)."""
    return await _callback(request, "lark", code, given_state)


@get("/oauth/wechat", opt=auth.public, guards=[critical_rate_limit])
async def wechat() -> dict[str, Any]:
    """Not offered: answers why, in the envelope."""
    raise UnsupportedFeature(_WECHAT)


@get("/oauth/wechat/bind", opt=auth.public, guards=[critical_rate_limit])
async def wechat_bind() -> dict[str, Any]:
    """Not offered: answers why, in the envelope."""
    raise UnsupportedFeature(_WECHAT)
