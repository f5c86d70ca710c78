"""Who is calling: the ``session`` cookie or an access token, and role guards.

One API accepts either a signed ``session`` cookie (set by ``POST /api/user/login``) or
``Authorization: <access token>`` (``Bearer`` optional) from ``GET /api/user/token``.
The cookie is signed with the runtime's session secret, which exists only once the
runtime has started, so the signer is built per request.

Sessions are revocable: the cookie carries the user's ``session_version`` from the time it
was issued, and the gateway bumps that column (``User.end_sessions``) on logout, a password
change, a role change, disabling and deleting, so every copy of an older cookie stops
working. The user row is read on every call anyway (handlers need it), so the version
check costs no extra query, and a change made on one replica holds on all of them at once.
A new password also revokes the access token: whoever knew the old password could have
made one. A role change or disabling keeps it, since the role and status are read on
every call.

Guards are closed by default: every ``/api`` handler declares the least role it needs
(:data:`common`, :data:`admin`, :data:`root`) or :data:`public`; :func:`require_role`
refuses a handler that declares neither, and :func:`check_declared` stops the app from
being built with one. With the option ``TwoFactorRequiredForAdmins`` on, an admin without
two-factor sign-in reaches only the routes declared :data:`two_factor_setup` (their own
account and setting two-factor up) until they turn it on.
"""

from __future__ import annotations

import logging
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from litestar import Litestar, Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from sqlmodel import Session, select

from oneapi.api.common import run_db
from oneapi.api.context import db_session, session_scope
from oneapi.db.models import Role, Status, User
from oneapi.errors import Forbidden, Unauthorized
from oneapi.i18n import N_
from oneapi.options import options
from oneapi.runtime import Runtime
from oneapi.security import constant_time_equal

__all__ = (
    "SESSION_COOKIE",
    "SESSION_MAX_AGE",
    "Me",
    "admin",
    "caller",
    "check_declared",
    "clear_session",
    "common",
    "log_out",
    "open_session",
    "public",
    "renew_session",
    "root",
    "two_factor_setup",
)

log = logging.getLogger("oneapi.api.auth")

SESSION_COOKIE = "session"
SESSION_MAX_AGE = 30 * 24 * 3600  # one-api keeps sessions for 30 days
_SALT = "oneapi.session"

# Route options read by ``require_role``: the least role a handler needs, or that anyone may call it.
ROLE_OPT = "min_role"
PUBLIC_OPT = "public"
SETUP_OPT = "two_factor_setup"  # reachable by an admin who must still set up two-factor sign-in


def _signer(request: ASGIConnection[Any, Any, Any, Any]) -> URLSafeTimedSerializer:
    runtime: Runtime = request.app.state.runtime
    return URLSafeTimedSerializer(runtime.session_secret, salt=_SALT)


def open_session(request: Request, response: Response[Any], user: User) -> None:
    """Set the signed session cookie for ``user`` on ``response``."""
    value = _signer(request).dumps({"id": user.id, "v": user.session_version or 0})
    response.set_cookie(Cookie(key=SESSION_COOKIE, value=value, max_age=SESSION_MAX_AGE, path="/",
                               httponly=True, samesite="strict"))


def clear_session(response: Response[Any]) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def _session_claims(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[int, int] | None:
    """The user id and session version a valid cookie names (cookies from before versions: 0)."""
    value = connection.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    try:
        data = _signer(connection).loads(value, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user_id, version = data.get("id"), data.get("v", 0)
    return (user_id, version) if isinstance(user_id, int) and isinstance(version, int) else None


def _current_session_user(session: Session, claims: tuple[int, int]) -> User | None:
    user = session.get(User, claims[0])
    return user if user is not None and (user.session_version or 0) == claims[1] else None


def _end_session(claims: tuple[int, int]) -> None:
    with session_scope() as session:
        user = _current_session_user(session, claims)
        if user is not None:
            user.end_sessions()
            session.add(user)


async def log_out(request: Request, response: Response[Any]) -> None:
    """End the caller's sessions (every copy of the cookie, on every device) and clear the cookie."""
    claims = _session_claims(request)
    if claims is not None:
        await run_db(_end_session, claims)
    clear_session(response)


def renew_session(request: Request, response: Response[Any], user: User) -> None:
    """After the caller's own sessions were ended, keep this browser signed in with a fresh cookie."""
    if _session_claims(request) is not None:
        open_session(request, response, user)


def _access_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "").strip()
    if header[:7].lower() == "bearer ":
        header = header[7:].strip()
    return header


def _load_user(claims: tuple[int, int] | None, token: str) -> User | None:
    with db_session(expire_on_commit=False) as session:
        if claims is not None:
            return _current_session_user(session, claims)
        user = session.exec(select(User).where(User.access_token == token)).first()
        if user is None or not constant_time_equal(user.access_token or "", token):
            return None
        return user


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> User:
    """The enabled user behind the cookie or the access token, else 401/403."""
    cached = connection.scope.get("state", {}).get("caller")
    if cached is not None:
        return cached
    claims = _session_claims(connection)
    token = "" if claims is not None else _access_token(connection)
    if claims is None and (not token or token.startswith("sk-")):
        raise Unauthorized(N_("not logged in and no access token given"), code="unauthorized")
    user = await run_db(_load_user, claims, token)
    if user is None:
        raise Unauthorized(N_("not logged in (or the session has ended), or the access token is invalid"),
                           code="unauthorized")
    if user.status != Status.ENABLED:
        raise Forbidden(N_("this user is disabled"), code="user_disabled")
    connection.scope.setdefault("state", {})["caller"] = user
    return user


async def require_role(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: authenticate, then check the handler's ``min_role`` option; closed when it has none."""
    needed = handler.opt.get(ROLE_OPT)
    if needed is None:
        if handler.opt.get(PUBLIC_OPT) is True:
            return
        log.error("route %s declares neither a role nor public; refusing it", connection.url.path)
        raise Forbidden(N_("permission denied: this route declares no role"), code="undeclared_route")
    user = await authenticate(connection)
    if user.role < needed:
        raise Forbidden(N_("permission denied: this needs a higher role"), code="insufficient_role")
    if (user.role >= Role.ADMIN and not user.totp_enabled and handler.opt.get(SETUP_OPT) is not True
            and options.get_bool("TwoFactorRequiredForAdmins")):
        raise Forbidden(N_("admins must turn on two-factor sign-in first: set it up on the personal page"),
                        code="two_factor_required")


async def caller(request: Request) -> User:
    """Dependency: the authenticated user (the guard has already checked the role)."""
    return await authenticate(request)


# Route ``opt`` values for the three levels (one-api's UserAuth, AdminAuth, RootAuth), and for
# routes anyone may call (login, register, logout, the public site facts).
common: dict[str, Any] = {ROLE_OPT: Role.COMMON}
admin: dict[str, Any] = {ROLE_OPT: Role.ADMIN}
root: dict[str, Any] = {ROLE_OPT: Role.ROOT}
public: dict[str, Any] = {PUBLIC_OPT: True}
two_factor_setup: dict[str, Any] = {ROLE_OPT: Role.COMMON, SETUP_OPT: True}  # common, and open to that admin


def check_declared(app: Litestar) -> None:
    """Refuse to build an app with an ``/api`` handler that is unguarded or declares no role.

    Raises:
        RuntimeError: naming each such handler, so it is found at boot, not by a caller.
    """
    undeclared = []
    for route in app.routes:
        if not (route.path == "/api" or route.path.startswith("/api/")):
            continue
        for handler in getattr(route, "route_handlers", ()):
            if handler.handler_name == "options_handler":  # Litestar's automatic OPTIONS answer
                continue
            declared = handler.opt.get(ROLE_OPT) is not None or handler.opt.get(PUBLIC_OPT) is True
            if not declared or require_role not in handler.resolve_guards():
                undeclared.append(f"{sorted(handler.http_methods)} {route.path} ({handler.handler_name})")
    if undeclared:
        raise RuntimeError("these /api routes need require_role and auth.common/admin/root/public: "
                           + "; ".join(undeclared))

Me = NamedDependency[User]  # a handler parameter filled by ``caller``
