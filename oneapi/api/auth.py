"""Who is calling: the ``session`` cookie or an access token, and role guards.

One API accepts either a signed ``session`` cookie (set by ``POST /api/user/login``) or
``Authorization: <access token>`` (``Bearer`` optional) from ``GET /api/user/token``.
The cookie is signed with the runtime's session secret, which exists only once the
runtime has started, so the signer is built per request. The user row is read on every
call, so a disabled user or a changed role takes effect at once.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from sqlmodel import Session, select

from oneapi.api.common import run_db
from oneapi.db.engine import get_engine
from oneapi.db.models import Role, Status, User
from oneapi.errors import Forbidden, Unauthorized
from oneapi.runtime import Runtime
from oneapi.security import constant_time_equal

__all__ = (
    "SESSION_COOKIE",
    "SESSION_MAX_AGE",
    "Me",
    "admin",
    "caller",
    "clear_session",
    "common",
    "open_session",
    "root",
)

SESSION_COOKIE = "session"
SESSION_MAX_AGE = 30 * 24 * 3600  # one-api keeps sessions for 30 days
_SALT = "oneapi.session"

# Route option naming the least role a handler needs; read by ``require_role``.
ROLE_OPT = "min_role"


def _signer(request: ASGIConnection[Any, Any, Any, Any]) -> URLSafeTimedSerializer:
    runtime: Runtime = request.app.state.runtime
    return URLSafeTimedSerializer(runtime.session_secret, salt=_SALT)


def open_session(request: Request, response: Response[Any], user: User) -> None:
    """Set the signed session cookie for ``user`` on ``response``."""
    value = _signer(request).dumps({"id": user.id})
    response.set_cookie(Cookie(key=SESSION_COOKIE, value=value, max_age=SESSION_MAX_AGE, path="/",
                               httponly=True, samesite="strict"))


def clear_session(response: Response[Any]) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def _session_user_id(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    value = connection.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    try:
        data = _signer(connection).loads(value, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return None
    user_id = data.get("id") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None


def _access_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "").strip()
    if header[:7].lower() == "bearer ":
        header = header[7:].strip()
    return header


def _load_user(user_id: int | None, token: str) -> User | None:
    with Session(get_engine(), expire_on_commit=False) as session:
        if user_id is not None:
            return session.get(User, user_id)
        user = session.exec(select(User).where(User.access_token == token)).first()
        if user is None or not constant_time_equal(user.access_token or "", token):
            return None
        return user


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> User:
    """The enabled user behind the cookie or the access token, else 401/403."""
    cached = connection.scope.get("state", {}).get("caller")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    user_id = _session_user_id(connection)
    token = "" if user_id is not None else _access_token(connection)
    if user_id is None and (not token or token.startswith("sk-")):
        raise Unauthorized("not logged in and no access token given", code="unauthorized")
    user = await run_db(_load_user, user_id, token)
    if user is None:
        raise Unauthorized("not logged in, or the access token is invalid", code="unauthorized")
    if user.status != Status.ENABLED:
        raise Forbidden("this user is disabled", code="user_disabled")
    connection.scope.setdefault("state", {})["caller"] = user
    return user


async def require_role(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: authenticate, then check the handler's ``min_role`` option."""
    needed = handler.opt.get(ROLE_OPT)
    if needed is None:
        return
    user = await authenticate(connection)
    if user.role < needed:
        raise Forbidden("permission denied: this needs a higher role", code="insufficient_role")


async def caller(request: Request) -> User:
    """Dependency: the authenticated user (the guard has already checked the role)."""
    return await authenticate(request)


# Route ``opt`` values for the three levels (one-api's UserAuth, AdminAuth, RootAuth).
common: dict[str, Any] = {ROLE_OPT: Role.COMMON}
admin: dict[str, Any] = {ROLE_OPT: Role.ADMIN}
root: dict[str, Any] = {ROLE_OPT: Role.ROOT}

Me = NamedDependency[User]  # a handler parameter filled by ``caller``
