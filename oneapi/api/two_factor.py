"""Two-factor sign-in: a TOTP code (RFC 6238, any authenticator app) after the password.

Something One API never had, and a gateway holding vendors' keys needs. Set-up is in three
steps: ``GET /api/user/2fa/setup`` makes a new secret (shown with its ``otpauth://`` URI and
a QR code, not yet in force; calling it again replaces it), ``POST /api/user/2fa/enable``
with a code from the app turns it on and answers ten recovery codes, shown this once, and
``POST /api/user/2fa/disable`` with a code, a recovery code or the password turns it off.

Every sign-in ends in :func:`complete_login`: for an account with two-factor on, the password
(or GitHub, OIDC, Lark) answers ``success: false`` with ``data: {"require_2fa": true}`` and a
signed, five-minute pending-login cookie instead of a session, and ``POST
/api/user/login/2fa`` with a code finishes it. A code is checked in constant time within
one time step either side of now, and a step once accepted (per account, in the database, so
every replica agrees) is never accepted again, so an overheard code cannot be replayed.
Recovery codes are random, kept only as SHA-256 hashes (80 bits each: nothing to gain from
a slow hash) and each works once. Wrong codes count towards the per-account login back-off
(:mod:`oneapi.api.login_backoff`) under a key of their own, which only a right code clears.

The TOTP secret is stored as it is (the app and the gateway must both know it) and never
returned once set-up is over; whoever can read the database can read the vendors' keys as
well. Turning two-factor on or off ends the account's other sessions.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

import msgspec
from itsdangerous import BadSignature, URLSafeTimedSerializer
from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.di import Provide
from litestar.params import JSONBody
from sqlalchemy import or_, update
from sqlmodel import Session, col

from oneapi.api import auth
from oneapi.api.common import api_post, changed, ok, run_db
from oneapi.api.context import db_session, management, session_scope
from oneapi.api.ip_limits import critical_rate_limit
from oneapi.api.login_backoff import LoginBackoff
from oneapi.db.models import Status, User
from oneapi.errors import InvalidRequest, NotFound
from oneapi.i18n import N_
from oneapi.options import options
from oneapi.runtime import Runtime
from oneapi.security import constant_time_equal, verify_password

__all__ = ("complete_login", "disable", "enable", "login_second_factor", "setup")

PENDING_COOKIE = "login_2fa"
PENDING_SECONDS = 5 * 60
PENDING_PATH = "/api/user/login"  # sent to the login routes only
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_RECOVERY_GROUPS = 4
_STEP_WINDOW = 1
_SALT = "oneapi.login-2fa"
_WRONG_CODE = N_("the code is wrong or was already used")

clock = time.time  # seconds since the epoch; tests move it to reach other time steps


class CodeRequest(msgspec.Struct):
    code: str = ""


class DisableRequest(msgspec.Struct):
    code: str = ""
    password: str = ""


# -- codes -----------------------------------------------------------------------------------
def _totp_step(secret: str, code: str, now: float) -> int | None:
    """The time step within the window whose code is ``code``, if any."""
    import pyotp

    code = code.replace(" ", "")
    if len(code) != 6 or not code.isdigit() or not secret:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // totp.interval)
    found = None
    for step in range(current - _STEP_WINDOW, current + _STEP_WINDOW + 1):
        if constant_time_equal(totp.generate_otp(step), code):  # every step compared: constant time
            found = step
    return found


def _normal(code: str) -> str:
    return code.replace("-", "").replace(" ", "").strip().lower()


def _hash(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def _new_recovery_codes() -> list[str]:
    return ["-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4))
                     for _ in range(_RECOVERY_GROUPS)) for _ in range(RECOVERY_CODES)]


def _take_step(session: Session, user: User, step: int) -> bool:
    """Record ``step`` as used, unless it (or a later one) was already: one step, one sign-in."""
    result = session.connection().execute(
        update(User).where(col(User.id) == user.id,
                           or_(col(User.totp_last_step).is_(None), col(User.totp_last_step) < step))
        .values(totp_last_step=step))
    return bool(result.rowcount)


def _take_recovery_code(session: Session, user: User, code: str) -> bool:
    """Use one recovery code up (compare-and-set on the stored list, so it works once)."""
    stored = user.totp_recovery or "[]"
    try:
        hashes = [h for h in json.loads(stored) if isinstance(h, str)]
    except ValueError:
        return False
    given = _hash(code)
    matched = [h for h in hashes if constant_time_equal(h, given)]
    if not matched:
        return False
    remaining = json.dumps([h for h in hashes if h != matched[0]])
    result = session.connection().execute(
        update(User).where(col(User.id) == user.id, col(User.totp_recovery) == stored)
        .values(totp_recovery=remaining))
    return bool(result.rowcount)


def _check_code(session: Session, user: User, code: str, now: float) -> bool:
    """A live TOTP code or an unused recovery code of ``user``, used up by this check."""
    code = code.strip()
    if len(_normal(code)) == 4 * _RECOVERY_GROUPS and not code.isdigit():
        return _take_recovery_code(session, user, code)
    step = _totp_step(user.totp_secret or "", code, now)
    return step is not None and _take_step(session, user, step)


# -- sign-in ---------------------------------------------------------------------------------
def _signer(request: Request) -> URLSafeTimedSerializer:
    runtime: Runtime = request.app.state.runtime
    return URLSafeTimedSerializer(runtime.session_secret, salt=_SALT)


def login_data(user: User) -> dict[str, Any]:
    """What a successful sign-in answers (one-api's fields)."""
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "role": user.role, "status": user.status, "group": user.group}


def complete_login(request: Request, user: User) -> Response[dict[str, Any]]:
    """The last step of every sign-in: a session, or for two-factor accounts a request for a code."""
    if not user.totp_enabled:
        response = Response(ok(login_data(user)))
        auth.open_session(request, response, user)
        return response
    pending = _signer(request).dumps({"id": user.id, "v": user.session_version or 0})
    response = Response({"success": False, "data": {"require_2fa": True},
                         "message": "enter the code from your authenticator app (or a recovery code)"})
    response.set_cookie(Cookie(key=PENDING_COOKIE, value=pending, max_age=PENDING_SECONDS, path=PENDING_PATH,
                               httponly=True, samesite="strict"))
    return response


def _pending_user(request: Request) -> tuple[int, int]:
    value = request.cookies.get(PENDING_COOKIE, "")
    try:
        data = _signer(request).loads(value, max_age=PENDING_SECONDS) if value else None
    except BadSignature:
        data = None
    if not (isinstance(data, dict) and isinstance(data.get("id"), int) and isinstance(data.get("v"), int)):
        raise InvalidRequest(N_("this sign-in has expired: enter your password again"))
    return data["id"], data["v"]


def _second_factor(user_id: int, version: int, code: str, now: float) -> User | None:
    with db_session(expire_on_commit=False) as session:
        user = session.get(User, user_id)
        if (user is None or user.status != Status.ENABLED or not user.totp_enabled
                or (user.session_version or 0) != version):
            return None
        accepted = _check_code(session, user, code, now)
        session.commit()
        return user if accepted else None


def _backoff(request: Request) -> LoginBackoff:
    return management(request).login_backoff


def _backoff_key(user_id: int) -> str:
    return f"2fa#{user_id}"  # not a name anyone can type at the password login


@api_post("/user/login/2fa", opt=auth.public, guards=[critical_rate_limit])
async def login_second_factor(request: Request, data: JSONBody[CodeRequest]) -> Response[dict[str, Any]]:
    """Finish a sign-in that answered ``require_2fa`` with a TOTP or recovery code."""
    user_id, version = _pending_user(request)
    key = _backoff_key(user_id)
    await _backoff(request).attempt(key)
    user = await run_db(_second_factor, user_id, version, data.code, clock())
    if user is None:
        await _backoff(request).failed(key)
        raise InvalidRequest(_WRONG_CODE, param="code")
    await _backoff(request).succeeded(key)
    response = Response(ok(login_data(user)))
    auth.open_session(request, response, user)
    response.delete_cookie(PENDING_COOKIE, path=PENDING_PATH)
    return response


# -- set-up ----------------------------------------------------------------------------------
def _new_secret(user_id: int) -> tuple[str, str]:
    import pyotp

    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(N_("user not found"))
        if user.totp_enabled:
            raise InvalidRequest(N_("two-factor sign-in is already on; turn it off first to set it up again"))
        user.totp_secret = pyotp.random_base32()
        session.add(user)
        issuer = options.get("SystemName") or "One API"
        uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=issuer)
        return user.totp_secret, uri


@get("/user/2fa/setup", opt=auth.two_factor_setup, dependencies={"me": Provide(auth.caller)})
async def setup(me: auth.Me) -> dict[str, Any]:
    """A new secret for the caller's app: ``secret``, ``uri`` (otpauth://) and ``qr_svg``; not yet on."""
    import io

    import segno

    secret, uri = await run_db(_new_secret, me.id or 0)
    svg = io.BytesIO()  # a whole SVG document (with its namespace), usable as an <img> source too
    segno.make(uri, error="m").save(svg, kind="svg", xmldecl=False, scale=4, border=2,
                                    title="QR code for your authenticator app")
    return ok({"secret": secret, "uri": uri, "qr_svg": svg.getvalue().decode()})


def _enable(user_id: int, code: str, now: float) -> tuple[User, list[str]] | None:
    with db_session(expire_on_commit=False) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(N_("user not found"))
        if user.totp_enabled:
            raise InvalidRequest(N_("two-factor sign-in is already on"))
        if not user.totp_secret:
            raise InvalidRequest(N_("set two-factor sign-in up first"))
        step = _totp_step(user.totp_secret, code.strip(), now)
        if step is None or not _take_step(session, user, step):
            session.rollback()
            return None
        codes = _new_recovery_codes()
        session.refresh(user)
        user.totp_enabled = True
        user.totp_recovery = json.dumps([_hash(c) for c in codes])
        user.end_sessions()
        session.add(user)
        session.commit()
        return user, codes


@api_post("/user/2fa/enable", opt=auth.two_factor_setup, dependencies={"me": Provide(auth.caller)})
async def enable(request: Request, me: auth.Me, data: JSONBody[CodeRequest]) -> Response[dict[str, Any]]:
    """Turn two-factor sign-in on with a code from the app; answers the recovery codes, this once."""
    key = _backoff_key(me.id or 0)
    await _backoff(request).attempt(key)
    done = await run_db(_enable, me.id or 0, data.code, clock())
    if done is None:
        await _backoff(request).failed(key)
        raise InvalidRequest(_WRONG_CODE, param="code")
    await _backoff(request).succeeded(key)
    user, codes = done
    await changed(request, "users")
    response = Response(ok({"recovery_codes": codes}))
    auth.renew_session(request, response, user)
    return response


def _disable(user_id: int, code: str, password: str, now: float) -> User | None:
    with db_session(expire_on_commit=False) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(N_("user not found"))
        if not user.totp_enabled:
            raise InvalidRequest(N_("two-factor sign-in is not on"))
        if code:
            accepted = _check_code(session, user, code, now)
        else:
            accepted = bool(password) and verify_password(password, user.password)
        if not accepted:
            session.commit()  # a recovery code or step used up stays used
            return None
        session.refresh(user)
        user.totp_enabled = False
        user.totp_secret = ""
        user.totp_recovery = None
        user.end_sessions()
        session.add(user)
        session.commit()
        return user


@api_post("/user/2fa/disable", opt=auth.common, dependencies={"me": Provide(auth.caller)})
async def disable(request: Request, me: auth.Me, data: JSONBody[DisableRequest]) -> Response[dict[str, Any]]:
    """Turn two-factor sign-in off with a code, a recovery code or the account's password."""
    if not data.code.strip() and not data.password:
        raise InvalidRequest(N_("enter a code from your app, a recovery code or your password"), param="code")
    key = _backoff_key(me.id or 0)
    await _backoff(request).attempt(key)
    user = await run_db(_disable, me.id or 0, data.code.strip(), data.password, clock())
    if user is None:
        await _backoff(request).failed(key)
        raise InvalidRequest(N_("the code or password is wrong"), param="code")
    await _backoff(request).succeeded(key)
    await changed(request, "users")
    response = Response(ok())
    auth.renew_session(request, response, user)
    return response
