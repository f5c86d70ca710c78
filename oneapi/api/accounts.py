"""Email on accounts, as one-api: verification codes, binding an address, password reset.

``GET /api/verification?email=`` mails a six-character code, asked for by registration
when ``EmailVerificationEnabled`` is on and by ``GET /api/oauth/email/bind`` (binding an
address to the signed-in account). ``GET /api/reset_password?email=`` mails a link to
``{ServerAddress}/user/reset?email=...&token=...``; the page it opens posts both to
``POST /api/user/reset``, which sets a new random password and returns it once.

Codes are single use, expire, and are shared by replicas through Redis when it is
configured (:mod:`oneapi.api.codes`). The reset routes answer the
same whether or not an account has the address: the reset mail is sent after the answer,
so not even the time taken tells. ``EmailDomainRestrictionEnabled`` limits addresses to
the domains listed in ``EmailDomainWhitelist`` (comma-separated), checked where a code is
sent, as one-api does.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, get
from litestar.di import Provide
from litestar.params import FromQuery, JSONBody
from sqlmodel import col, select

from oneapi.api import auth
from oneapi.api.codes import EMAIL_VERIFICATION, PASSWORD_RESET, CodeBook, email_codes
from oneapi.api.common import api_post, changed, ok, run_db
from oneapi.api.context import db_session, management, session_scope
from oneapi.api.ip_limits import critical_rate_limit
from oneapi.api.turnstile import turnstile_check
from oneapi.api.users import USER_DELETED, check_email
from oneapi.db.models import User
from oneapi.errors import InvalidRequest
from oneapi.mail import send_mail
from oneapi.options import options
from oneapi.security import generate_code, hash_password

__all__ = ("bind_email", "check_email_domain", "reset_password", "send_reset_link",
           "send_verification")

log = logging.getLogger("oneapi.api.accounts")

CODE_LENGTH = 6  # one-api's verification code
TOKEN_LENGTH = 32  # a reset token travels in a link, so it can be long
PASSWORD_LENGTH = 12  # one-api's new password after a reset
_BAD_RESET = "the reset link is invalid or has expired"


class ResetRequest(msgspec.Struct):
    email: str
    token: str


def _address(email: str) -> str:
    email = check_email(email)
    if not email:
        raise InvalidRequest("email is required", param="email")
    return email


def check_email_domain(email: str) -> None:
    """Refuse an address outside ``EmailDomainWhitelist`` when the restriction is on."""
    if not options.get_bool("EmailDomainRestrictionEnabled"):
        return
    allowed = {d.strip().lower() for d in options.get("EmailDomainWhitelist").split(",") if d.strip()}
    if email.rpartition("@")[2].lower() not in allowed:
        raise InvalidRequest("the administrator allows only addresses of these domains: "
                             + ", ".join(sorted(allowed)), param="email")


def _email_owner(email: str) -> int | None:
    with db_session() as session:
        query = select(User.id).where(User.email == email, User.status != USER_DELETED).order_by(col(User.id))
        return session.exec(query).first()


def _site_name() -> str:
    return html.escape(options.get("SystemName", "One API"))


@get("/verification", opt=auth.public, guards=[critical_rate_limit, turnstile_check])
async def send_verification(request: Request, email: FromQuery[str] = "") -> dict[str, Any]:
    """Mail a code proving the caller reads ``email`` (for registration or binding)."""
    email = _address(email)
    check_email_domain(email)
    if await run_db(_email_owner, email) is not None:
        raise InvalidRequest("this email address is already in use", param="email")
    code = await email_codes(request).issue(EMAIL_VERIFICATION, email, CODE_LENGTH)
    minutes = int(email_codes(request).valid_seconds // 60)
    await send_mail(f"{options.get('SystemName', 'One API')} email verification", email,
                    f"<p>Hello, you are verifying your email address with {_site_name()}.</p>"
                    f"<p>Your verification code is: <strong>{code}</strong></p>"
                    f"<p>It is valid for {minutes} minutes. If you did not ask for it, ignore this mail.</p>")
    return ok()


async def _mail_reset_link(book: CodeBook, email: str) -> None:
    token = await book.issue(PASSWORD_RESET, email, TOKEN_LENGTH)
    query = urlencode({"email": email, "token": token})
    link = f"{options.get('ServerAddress').rstrip('/')}/user/reset?{query}"
    minutes = int(book.valid_seconds // 60)
    try:
        await send_mail(f"{options.get('SystemName', 'One API')} password reset", email,
                        f"<p>Hello, you asked to reset your password on {_site_name()}.</p>"
                        f'<p>Open <a href="{html.escape(link)}">this link</a> to reset it: '
                        f"{html.escape(link)}</p>"
                        f"<p>It works once, within {minutes} minutes. "
                        "If you did not ask, ignore this mail.</p>")
    except Exception:
        log.exception("password reset mail to an account's address failed")


@get("/reset_password", opt=auth.public, guards=[critical_rate_limit, turnstile_check])
async def send_reset_link(request: Request, email: FromQuery[str] = "") -> dict[str, Any]:
    """Mail a reset link if an account has ``email``; the answer is the same either way."""
    email = _address(email)
    if await run_db(_email_owner, email) is not None:
        tasks = management(request).mail_tasks
        task = asyncio.create_task(_mail_reset_link(email_codes(request), email))
        tasks.add(task)  # held until done, so it is not collected mid-send
        task.add_done_callback(tasks.discard)
    return ok(message="if an account has this address, a reset link was sent to it")


def _reset(email: str, password: str) -> bool:
    with session_scope() as session:
        query = select(User).where(User.email == email, User.status != USER_DELETED).order_by(col(User.id))
        user = session.exec(query).first()
        if user is None:
            return False
        user.password = hash_password(password)
        user.end_sessions(access_token=True)
        session.add(user)
        return True


@api_post("/user/reset", opt=auth.public, guards=[critical_rate_limit])
async def reset_password(request: Request, data: JSONBody[ResetRequest]) -> dict[str, Any]:
    """Use a reset token once: the account gets a new random password, shown in ``data`` only now."""
    email = data.email.strip()
    book = email_codes(request)
    if not email or not data.token or not await book.consume(PASSWORD_RESET, email, data.token):
        raise InvalidRequest(_BAD_RESET)
    password = generate_code(PASSWORD_LENGTH)
    if not await run_db(_reset, email, password):
        raise InvalidRequest(_BAD_RESET)
    await changed(request, "users")
    return ok(password)


def _bind(user_id: int, email: str) -> None:
    with session_scope() as session:
        owner = session.exec(select(User.id).where(User.email == email, User.id != user_id,
                                                   User.status != USER_DELETED)).first()
        if owner is not None:
            raise InvalidRequest("this email address is already in use", param="email")
        user = session.get(User, user_id)
        if user is not None:
            user.email = email
            session.add(user)


@get("/oauth/email/bind", opt=auth.common, dependencies={"me": Provide(auth.caller)})
async def bind_email(request: Request, me: auth.Me, email: FromQuery[str] = "",
                     code: FromQuery[str] = "") -> dict[str, Any]:
    """Bind ``email`` to the caller's account with the code mailed to it."""
    email = _address(email)
    if not code or not await email_codes(request).consume(EMAIL_VERIFICATION, email, code):
        raise InvalidRequest("the verification code is wrong or has expired", param="code")
    await run_db(_bind, me.id or 0, email)
    await changed(request, "users")
    return ok()
