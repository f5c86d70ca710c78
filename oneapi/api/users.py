"""Users: register, login, the caller's own account, and admin user management.

Routes, field names and rules follow one-api: an admin acts only on users of a lower
role (root acts on everyone but cannot be disabled, demoted or deleted), only root
promotes, deleting is a soft delete that frees the username, and quota changes made by
an admin are logged.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import Controller, Request, Response, get, put
from litestar.di import Provide
from litestar.params import FromQuery, JSONBody
from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oneapi.api import auth
from oneapi.api.codes import EMAIL_VERIFICATION, email_codes
from oneapi.api.common import (
    Id,
    Int32,
    Int64,
    Page,
    PageArg,
    PathId,
    add_user_quota,
    api_delete,
    api_post,
    changed,
    format_quota,
    keyword_id,
    ok,
    page_params,
    query_int,
    row,
    run_db,
    unix_now,
)
from oneapi.api.context import db_session, management, session_scope
from oneapi.api.ip_limits import critical_rate_limit
from oneapi.api.logs import record_log
from oneapi.api.turnstile import turnstile_check
from oneapi.api.two_factor import complete_login
from oneapi.db.models import Ability, Log, LogType, Role, Status, Token, TokenStatus, User
from oneapi.errors import Forbidden, InvalidRequest, NotFound
from oneapi.i18n import N_
from oneapi.options import options
from oneapi.security import (
    generate_access_token,
    generate_aff_code,
    generate_token_key,
    hash_password,
    password_needs_rehash,
    verify_password,
)

__all__ = ("UserController", "create_account", "public_user")

USER_DELETED = 3  # one-api's UserStatusDeleted
_HIDDEN = frozenset({"password", "access_token", "session_version", "totp_secret", "totp_last_step",
                     "totp_recovery"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DASHBOARD_DAYS = 7
DASHBOARD_MAX_DAYS = 366
DASHBOARD_TOP_TOKENS = 10


class Credentials(msgspec.Struct):
    username: str = ""
    password: str = ""


class Registration(msgspec.Struct):
    username: str
    password: str
    display_name: str = ""
    email: str = ""
    aff_code: str = ""
    verification_code: str = ""


class SelfUpdate(msgspec.Struct):
    username: str | None = None
    password: str | None = None
    display_name: str | None = None


class NewUser(msgspec.Struct):
    username: str
    password: str
    display_name: str = ""


class UserUpdate(msgspec.Struct):
    """An admin's edit; a field left out (or ``null``) keeps its value."""

    id: Id
    username: str | None = None
    password: str | None = None
    display_name: str | None = None
    email: str | None = None
    group: str | None = None
    quota: Int64 | None = None
    role: Int32 | None = None


class ManageRequest(msgspec.Struct):
    action: str
    username: str = ""
    id: Id = 0


def public_user(user: User) -> dict[str, Any]:
    """A user without the password hash or the access token."""
    return row(user, exclude=_HIDDEN)


# -- validation ---------------------------------------------------------------------
def check_username(username: str) -> str:
    username = username.strip()
    if not username:
        raise InvalidRequest(N_("username is required"), param="username")
    if len(username) > 12:
        raise InvalidRequest(N_("username must be at most 12 characters"), param="username")
    return username


def check_password(password: str) -> str:
    if not 8 <= len(password) <= 20:
        raise InvalidRequest(N_("password must be 8 to 20 characters"), param="password")
    return password


def check_display_name(display_name: str) -> str:
    if len(display_name) > 20:
        raise InvalidRequest(N_("display name must be at most 20 characters"), param="display_name")
    return display_name


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 50:
        raise InvalidRequest(N_("email must be at most 50 characters"), param="email")
    if email and not _EMAIL.match(email):
        raise InvalidRequest(N_("email is not a valid address"), param="email")
    return email


def _username_taken(session: Session, username: str, except_id: int | None = None) -> bool:
    query = select(User.id).where(User.username == username)
    if except_id is not None:
        query = query.where(User.id != except_id)
    return session.exec(query).first() is not None


def _commit_user(session: Session, user: User) -> None:
    """Commit, turning a unique-username race into a clear message."""
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise InvalidRequest(N_("username is already taken"), param="username") from None


# -- registration and login -----------------------------------------------------------
def create_account(session: Session, *, username: str, password_hash: str, display_name: str, email: str = "",
                   inviter: User | None = None, bindings: Mapping[str, str] | None = None
                   ) -> tuple[User, dict[int, int]]:
    """Add a common user as one-api does (``QuotaForNewUser``, an unlimited "default" token,
    the invitation rewards) and commit; ``bindings`` are sign-in ids (``{"github_id": ...}``).

    Answers the user and the quota added to existing users (the inviter's reward).
    """
    user = User(username=username, password=password_hash, display_name=display_name, email=email,
                role=Role.COMMON, status=Status.ENABLED, aff_code=generate_aff_code(),
                quota=options.get_int("QuotaForNewUser"), inviter_id=(inviter.id or 0) if inviter else 0)
    for column, value in (bindings or {}).items():
        setattr(user, column, value)
    if inviter is not None:
        user.quota += options.get_int("QuotaForInvitee")
    _commit_user(session, user)
    user_id = user.id or 0
    now = unix_now()
    session.add(Token(user_id=user_id, key=generate_token_key(), name="default",
                      status=TokenStatus.ENABLED, created_time=now, accessed_time=now, expired_time=-1,
                      unlimited_quota=True))
    if user.quota:
        record_log(session, user_id=user_id, log_type=LogType.SYSTEM, username=username,
                   content=f"new user gift: {format_quota(user.quota)}")
    rewards: dict[int, int] = {}
    bonus = options.get_int("QuotaForInviter")
    if inviter is not None and bonus > 0:
        add_user_quota(session, inviter.id or 0, bonus)
        record_log(session, user_id=inviter.id or 0, log_type=LogType.SYSTEM, username=inviter.username,
                   content=f"invitation reward: {format_quota(bonus)}")
        rewards[inviter.id or 0] = bonus
    session.commit()
    session.refresh(user)
    return user, rewards


def _register(body: Registration) -> dict[int, int]:
    """Create the user; answers the quota added to existing users (the inviter's reward)."""
    username = check_username(body.username)
    password = check_password(body.password)
    display_name = check_display_name(body.display_name) or username
    email = check_email(body.email)
    with db_session(expire_on_commit=False) as session:
        if _username_taken(session, username):
            raise InvalidRequest(N_("username is already taken"), param="username")
        inviter = None
        if body.aff_code:
            inviter = session.exec(select(User).where(User.aff_code == body.aff_code)).first()
        return create_account(session, username=username, password_hash=hash_password(password),
                              display_name=display_name, email=email, inviter=inviter)[1]


def _check_login(name: str, password: str) -> User | None:
    """The user when the password matches; one bcrypt run either way (see ``oneapi.security``).

    A matching hash cheaper than ours (one-api's cost 10) is replaced by one of our cost.
    """
    with db_session(expire_on_commit=False) as session:
        query = select(User).where(or_(col(User.username) == name, col(User.email) == name),
                                   User.status != USER_DELETED)
        user = session.exec(query.order_by(col(User.id))).first()
        if not verify_password(password, user.password if user is not None else None) or user is None:
            return None
        if password_needs_rehash(user.password):
            user.password = hash_password(password)
            session.add(user)
            session.commit()
        return user


# -- the caller's own account ---------------------------------------------------------------
def _update_self(user_id: int, body: SelfUpdate) -> User:
    with db_session(expire_on_commit=False) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(N_("user not found"))
        if body.username is not None and body.username.strip() != user.username:
            username = check_username(body.username)
            if _username_taken(session, username, except_id=user_id):
                raise InvalidRequest(N_("username is already taken"), param="username")
            user.username = username
        if body.display_name is not None:
            user.display_name = check_display_name(body.display_name)
        if body.password:
            user.password = hash_password(check_password(body.password))
            user.end_sessions(access_token=True)
        _commit_user(session, user)
        return user


def _soft_delete(session: Session, user: User) -> None:
    """One-api's delete: status "deleted" and a freed username; tokens and sessions stop working."""
    user.status = USER_DELETED
    user.username = f"deleted_{uuid.uuid4().hex}"
    user.end_sessions(access_token=True)
    session.add(user)
    for token in session.exec(select(Token).where(Token.user_id == user.id)).all():
        token.status = TokenStatus.DISABLED
        session.add(token)


def _delete_self(user_id: int) -> None:
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(N_("user not found"))
        if user.role == Role.ROOT:
            raise Forbidden(N_("the root user cannot be deleted"))
        _soft_delete(session, user)


def _new_access_token(user_id: int) -> str:
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(N_("user not found"))
        user.access_token = generate_access_token()
        session.add(user)
        return user.access_token


def _aff_code(user_id: int) -> str:
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(N_("user not found"))
        if not user.aff_code:
            user.aff_code = generate_aff_code()
            session.add(user)
        return user.aff_code


def _dashboard_range(start_timestamp: str, end_timestamp: str) -> tuple[int, int]:
    """The dashboard's period in unix seconds: by default the last ``DASHBOARD_DAYS`` UTC days,
    at most ``DASHBOARD_MAX_DAYS`` long."""
    now = unix_now()
    end = query_int(end_timestamp, "end_timestamp", low=0) or now
    start = query_int(start_timestamp, "start_timestamp", low=0) or (
        (min(end, now) // 86400 - (DASHBOARD_DAYS - 1)) * 86400)
    if start > end:
        raise InvalidRequest(N_("start_timestamp is after end_timestamp"), param="start_timestamp")
    if end - start > DASHBOARD_MAX_DAYS * 86400:
        raise InvalidRequest(N_("the period is longer than {days} days", days=DASHBOARD_MAX_DAYS),
                             param="start_timestamp")
    return start, end


def _consumed(user_id: int, start: int, end: int) -> list[sa.ColumnElement[bool]]:
    return [col(Log.user_id) == user_id, col(Log.type) == LogType.CONSUME, col(Log.created_at) >= start,
            col(Log.created_at) <= end]


def _dashboard(user_id: int, start: int, end: int) -> list[dict[str, Any]]:
    """Per-day (UTC), per-model consumption of one user, with one-api's field names
    (its ``LogStatistic``: ``Day`` as YYYY-MM-DD, ``ModelName``, ``RequestCount``, ``Quota``,
    ``PromptTokens``, ``CompletionTokens``), which one-api's dashboards read."""
    day, model_name = col(Log.created_at) // 86400, col(Log.model_name)
    # SQLAlchemy's select and execute: SQLModel's are typed for at most four columns
    query = (sa.select(day, model_name, func.count(), func.coalesce(func.sum(Log.quota), 0),
                       func.coalesce(func.sum(Log.prompt_tokens), 0),
                       func.coalesce(func.sum(Log.completion_tokens), 0))
             .where(*_consumed(user_id, start, end))
             .group_by(day, model_name).order_by(day, model_name))
    with db_session() as session:
        return [{"Day": dt.datetime.fromtimestamp(int(d) * 86400, dt.UTC).strftime("%Y-%m-%d"),
                 "ModelName": model, "RequestCount": int(count), "Quota": int(quota),
                 "PromptTokens": int(prompt), "CompletionTokens": int(completion)}
                for d, model, count, quota, prompt, completion in session.execute(query).all()]


def _top_tokens(user_id: int, start: int, end: int) -> list[dict[str, Any]]:
    """The user's ``DASHBOARD_TOP_TOKENS`` tokens that spent the most quota in the period."""
    quota = func.coalesce(func.sum(Log.quota), 0)
    query = (sa.select(col(Log.token_id), col(Log.token_name), func.count(), quota,
                       func.coalesce(func.sum(Log.prompt_tokens + Log.completion_tokens), 0))
             .where(*_consumed(user_id, start, end))
             .group_by(col(Log.token_id), col(Log.token_name))
             .order_by(quota.desc(), col(Log.token_name)).limit(DASHBOARD_TOP_TOKENS))
    with db_session() as session:
        return [{"token_id": int(token_id or 0), "token_name": name or "", "requests": int(count),
                 "quota": int(spent), "tokens": int(tokens)}
                for token_id, name, count, spent, tokens in session.execute(query).all()]


def _available_models(group: str) -> list[str]:
    with db_session() as session:
        query = select(Ability.model).where(Ability.group == group,
                                            Ability.enabled == True).distinct()  # noqa: E712
        return sorted(session.exec(query).all())


# -- admin user management ---------------------------------------------------------------
def _list_users(page: Page, keyword: str | None) -> list[dict[str, Any]]:
    query = select(User).where(User.status != USER_DELETED)
    if keyword is not None:
        keyword = keyword.strip()
        matches = [col(User.username).startswith(keyword, autoescape=True),
                   col(User.email).startswith(keyword, autoescape=True),
                   col(User.display_name).startswith(keyword, autoescape=True)]
        if (user_id := keyword_id(keyword)) is not None:
            matches.append(col(User.id) == user_id)
        query = query.where(or_(*matches))
    query = query.order_by(col(User.id).desc())
    with db_session() as session:
        return [public_user(user) for user in session.exec(page.apply(query)).all()]


def _get_managed(session: Session, me: User, user_id: int) -> User:
    """A user the caller may act on: strictly lower role, or anyone but root for root."""
    user = session.get(User, user_id)
    if user is None or user.status == USER_DELETED:
        raise NotFound(N_("user not found"))
    if me.role <= user.role and me.role != Role.ROOT:
        raise Forbidden(N_("you cannot act on a user of the same or a higher role"))
    return user


def _get_user(me: User, user_id: int) -> dict[str, Any]:
    with db_session() as session:
        return public_user(_get_managed(session, me, user_id))


def _create_user(body: NewUser) -> User:
    username = check_username(body.username)
    password = check_password(body.password)
    display_name = check_display_name(body.display_name) or username
    with db_session(expire_on_commit=False) as session:
        if _username_taken(session, username):
            raise InvalidRequest(N_("username is already taken"), param="username")
        user = User(username=username, password=hash_password(password), display_name=display_name,
                    role=Role.COMMON, status=Status.ENABLED, aff_code=generate_aff_code())
        _commit_user(session, user)
        return user


def _update_user(me: User, body: UserUpdate) -> tuple[User, int]:
    """The updated user and what their quota gained (negative when lowered)."""
    delta = 0
    with db_session(expire_on_commit=False) as session:
        user = _get_managed(session, me, body.id)
        if body.role is not None and body.role != user.role:
            if body.role not in (Role.COMMON, Role.ADMIN, Role.ROOT):
                raise InvalidRequest(N_("role must be 1 (common), 10 (admin) or 100 (root)"), param="role")
            if (body.role >= me.role and me.role != Role.ROOT) or body.role == Role.ROOT:
                raise Forbidden(N_("you cannot raise a user to your own role or higher"))
            if user.role == Role.ROOT:
                raise Forbidden(N_("the root user cannot be demoted"))
            user.role = body.role
            user.end_sessions()
        if body.username is not None and body.username.strip() != user.username:
            username = check_username(body.username)
            if _username_taken(session, username, except_id=user.id):
                raise InvalidRequest(N_("username is already taken"), param="username")
            user.username = username
        if body.display_name is not None:
            user.display_name = check_display_name(body.display_name)
        if body.email is not None:
            user.email = check_email(body.email)
        if body.group is not None:
            group = body.group.strip()
            if not group or len(group) > 32:
                raise InvalidRequest(N_("group must be 1 to 32 characters"), param="group")
            user.group = group
        if body.password:
            user.password = hash_password(check_password(body.password))
            user.end_sessions(access_token=True)
        if body.quota is not None and body.quota != user.quota:
            if body.quota < 0:
                raise InvalidRequest(N_("quota cannot be negative"), param="quota")
            record_log(session, user_id=user.id or 0, log_type=LogType.MANAGE, username=user.username,
                       content=f"admin {me.username} changed the quota from {format_quota(user.quota)} "
                               f"to {format_quota(body.quota)}")
            delta = body.quota - user.quota
            add_user_quota(session, user.id or 0, delta)
        _commit_user(session, user)
        session.refresh(user)
        return user, delta


def _delete_user(me: User, user_id: int) -> None:
    with session_scope() as session:
        user = _get_managed(session, me, user_id)
        if user.role == Role.ROOT or me.role <= user.role:
            raise Forbidden(N_("you cannot delete a user of the same or a higher role"))
        _soft_delete(session, user)


def _manage(me: User, body: ManageRequest) -> dict[str, int]:
    with session_scope() as session:
        if body.id:
            target_id = body.id
        else:
            found = session.exec(select(User.id).where(User.username == body.username)).first()
            if found is None:
                raise NotFound(N_("user not found"))
            target_id = found
        user = _get_managed(session, me, target_id)
        action = body.action
        if action == "disable":
            if user.role == Role.ROOT:
                raise Forbidden(N_("the root user cannot be disabled"))
            user.status = Status.DISABLED
            user.end_sessions()
        elif action == "enable":
            user.status = Status.ENABLED
        elif action == "delete":
            if user.role == Role.ROOT:
                raise Forbidden(N_("the root user cannot be deleted"))
            _soft_delete(session, user)
        elif action == "promote":
            if me.role != Role.ROOT:
                raise Forbidden(N_("only root can promote users to admin"))
            if user.role >= Role.ADMIN:
                raise InvalidRequest(N_("this user is already an admin"))
            user.role = Role.ADMIN
            user.end_sessions()
        elif action == "disable_2fa":  # (added) for a user who lost their authenticator and recovery codes
            user.totp_enabled, user.totp_secret, user.totp_recovery = False, "", None
            user.end_sessions()
        elif action == "demote":
            if user.role == Role.ROOT:
                raise Forbidden(N_("the root user cannot be demoted"))
            if user.role == Role.COMMON:
                raise InvalidRequest(N_("this user is already a common user"))
            user.role = Role.COMMON
            user.end_sessions()
        else:
            raise InvalidRequest(N_("action must be one of disable, enable, delete, promote, demote, "
                                 "disable_2fa"), param="action")
        session.add(user)
        return {"role": user.role, "status": user.status}


class UserController(Controller):
    path = "/user"
    tags = ("users",)
    dependencies: Mapping[str, Provide] = {"me": Provide(auth.caller),
                                           "page": Provide(page_params, sync_to_thread=False)}

    # -- public --------------------------------------------------------------------------
    @api_post("/register", opt=auth.public, guards=[critical_rate_limit, turnstile_check])
    async def register(self, request: Request, data: JSONBody[Registration]) -> dict[str, Any]:
        """Create a common user (RegisterEnabled and PasswordRegisterEnabled must be on; with
        EmailVerificationEnabled, the code mailed by ``/api/verification`` too)."""
        if not options.get_bool("RegisterEnabled"):
            raise Forbidden(N_("registration is closed by the administrator"))
        if not options.get_bool("PasswordRegisterEnabled"):
            raise Forbidden(N_("password registration is closed; use another sign-in method"))
        if options.get_bool("EmailVerificationEnabled"):
            email = check_email(data.email)
            if not email or not data.verification_code:
                raise InvalidRequest(N_("the administrator requires email verification: enter your email "
                                     "address and the code sent to it"), param="verification_code")
            if not await email_codes(request).consume(EMAIL_VERIFICATION, email, data.verification_code):
                raise InvalidRequest(N_("the verification code is wrong or has expired"),
                                     param="verification_code")
        rewards = await run_db(_register, data)
        await changed(request, "users", "tokens", users=rewards)
        return ok()

    @api_post("/login", opt=auth.public, guards=[critical_rate_limit])
    async def login(self, request: Request, data: JSONBody[Credentials]) -> Response[dict[str, Any]]:
        """Check username (or email) and password, then set the ``session`` cookie.

        Unknown names and wrong passwords cost the same and answer alike; a name with
        repeated failures is locked for a while (``oneapi.api.login_backoff``). With two-factor
        sign-in on, the answer asks for a code instead (``oneapi.api.two_factor``).
        """
        if not options.get_bool("PasswordLoginEnabled"):
            raise Forbidden(N_("password login is disabled by the administrator"))
        name = data.username.strip()
        if not name or not data.password:
            raise InvalidRequest(N_("username and password are required"))
        backoff = management(request).login_backoff
        await backoff.attempt(name)
        user = await run_db(_check_login, name, data.password)
        if user is None:
            await backoff.failed(name)
            raise InvalidRequest(N_("wrong username or password"))
        await backoff.succeeded(name)
        if user.status != Status.ENABLED:
            raise Forbidden(N_("this user is disabled"))
        return complete_login(request, user)

    @get("/logout", opt=auth.public)
    async def logout(self, request: Request) -> Response[dict[str, Any]]:
        """Sign out: every copy of the caller's session cookie stops working."""
        response = Response(ok())
        await auth.log_out(request, response)
        return response

    # -- the caller's own account ------------------------------------------------------------
    @get("/self", opt=auth.two_factor_setup)
    async def get_self(self, me: auth.Me) -> dict[str, Any]:
        return ok(public_user(me))

    @put("/self", opt=auth.common)
    async def update_self(self, request: Request, me: auth.Me,
                          data: JSONBody[SelfUpdate]) -> Response[dict[str, Any]]:
        """A new password ends the caller's other sessions and the access token; this browser stays in."""
        user = await run_db(_update_self, me.id or 0, data)
        await changed(request, "users")
        response = Response(ok(public_user(user)))
        if data.password:
            auth.renew_session(request, response, user)
        return response

    @api_delete("/self", opt=auth.common)
    async def delete_self(self, request: Request, me: auth.Me) -> dict[str, Any]:
        await run_db(_delete_self, me.id or 0)
        await changed(request, "users", "tokens")
        return ok()

    @get("/token", opt=auth.common)
    async def access_token(self, request: Request, me: auth.Me) -> dict[str, Any]:
        """A fresh access token for ``Authorization:`` (the previous one stops working)."""
        token = await run_db(_new_access_token, me.id or 0)
        await changed(request, "users")
        return ok(token)

    @get("/aff", opt=auth.common)
    async def aff(self, me: auth.Me) -> dict[str, Any]:
        return ok(await run_db(_aff_code, me.id or 0))

    @get("/dashboard", opt=auth.common)
    async def dashboard(self, me: auth.Me, start_timestamp: FromQuery[str] = "",
                        end_timestamp: FromQuery[str] = "") -> dict[str, Any]:
        """The caller's usage per day and model, over the last week unless a period (unix
        seconds) is given."""
        return ok(await run_db(_dashboard, me.id or 0, *_dashboard_range(start_timestamp, end_timestamp)))

    @get("/dashboard/tokens", opt=auth.common)
    async def dashboard_tokens(self, me: auth.Me, start_timestamp: FromQuery[str] = "",
                               end_timestamp: FromQuery[str] = "") -> dict[str, Any]:
        """The caller's tokens that spent the most in the period, most first."""
        return ok(await run_db(_top_tokens, me.id or 0, *_dashboard_range(start_timestamp, end_timestamp)))

    @get("/available_models", opt=auth.common)
    async def available_models(self, me: auth.Me) -> dict[str, Any]:
        """Models the caller's group can reach through enabled channels."""
        return ok(await run_db(_available_models, me.group))

    # -- admin ----------------------------------------------------------------------------
    @get("/", opt=auth.admin)
    async def list_users(self, page: PageArg) -> dict[str, Any]:
        return ok(await run_db(_list_users, page, None))

    @get("/search", opt=auth.admin)
    async def search_users(self, page: PageArg, keyword: FromQuery[str] = "") -> dict[str, Any]:
        return ok(await run_db(_list_users, page, keyword))

    @get("/{user_id:int}", opt=auth.admin)
    async def get_user(self, me: auth.Me, user_id: PathId) -> dict[str, Any]:
        return ok(await run_db(_get_user, me, user_id))

    @api_post("/", opt=auth.admin)
    async def create_user(self, request: Request, data: JSONBody[NewUser]) -> dict[str, Any]:
        user = await run_db(_create_user, data)
        await changed(request, "users")
        return ok(public_user(user))

    @put("/", opt=auth.admin)
    async def update_user(self, request: Request, me: auth.Me, data: JSONBody[UserUpdate]) -> dict[str, Any]:
        user, delta = await run_db(_update_user, me, data)
        await changed(request, "users", users={data.id: delta})
        return ok(public_user(user))

    @api_delete("/{user_id:int}", opt=auth.admin)
    async def delete_user(self, request: Request, me: auth.Me, user_id: PathId) -> dict[str, Any]:
        await run_db(_delete_user, me, user_id)
        await changed(request, "users", "tokens")
        return ok()

    @api_post("/manage", opt=auth.admin)
    async def manage(self, request: Request, me: auth.Me, data: JSONBody[ManageRequest]) -> dict[str, Any]:
        """disable, enable, delete, promote (root only) or demote a user, or turn off their two-factor
        sign-in (disable_2fa)."""
        result = await run_db(_manage, me, data)
        await changed(request, "users", "tokens")
        return ok(result)
