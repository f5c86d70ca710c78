"""Tokens: the caller's ``sk-`` keys, as one-api's ``/api/token`` routes.

Keys are 48 characters from a CSPRNG, stored without ``sk-`` (as one-api), and shown to
their owner, who needs to copy them. Every route acts on the caller's own tokens only;
someone else's token id answers "not found".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.di import Provide
from litestar.params import FromQuery, JSONBody
from sqlalchemy import update
from sqlmodel import Session, col, select

from oneapi.api import auth
from oneapi.api.common import (
    UNSET,
    Id,
    Int32,
    Int64,
    Page,
    PageArg,
    PathId,
    Unset,
    api_delete,
    api_post,
    assign,
    changed,
    ok,
    page_params,
    row,
    run_db,
    sent,
    unix_now,
)
from oneapi.api.context import db_session, session_scope
from oneapi.db.models import Token, TokenStatus
from oneapi.errors import InvalidRequest, NotFound
from oneapi.security import generate_token_key

__all__ = ("TokenController",)

MAX_NAME = 30  # one-api's limit


class TokenFields(msgspec.Struct):
    """A token as its owner sends it; a field left out (or ``null``) keeps its value."""

    name: str | Unset = UNSET
    expired_time: Int64 | Unset = UNSET
    remain_quota: Int64 | Unset = UNSET
    unlimited_quota: bool | Unset = UNSET
    models: str | Unset | None = UNSET
    subnet: str | Unset | None = UNSET
    rpm_limit: Int32 | Unset = UNSET
    tpm_limit: Int32 | Unset = UNSET


class TokenUpdate(TokenFields, kw_only=True):
    id: Id
    status: Int32 | Unset | None = UNSET


# A new token: what a field left out of the create request becomes.
_NEW_TOKEN: dict[str, Any] = {"name": "", "expired_time": -1, "remain_quota": 0, "unlimited_quota": False,
                              "models": "", "subnet": "", "rpm_limit": 0, "tpm_limit": 0}


def _check_subnet(subnet: str) -> str:
    """A comma-separated CIDR allow-list; each entry must parse."""
    entries = [entry.strip() for entry in subnet.split(",") if entry.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            message = f"subnet {entry!r} is not an IP address or CIDR range"
            raise InvalidRequest(message, param="subnet") from None
    return ",".join(entries)


def _check_models(models: str) -> str:
    return ",".join(model.strip() for model in models.split(",") if model.strip())


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """The sent fields, validated and normalised into column values (status apart)."""
    out: dict[str, Any] = {}
    for field, value in values.items():
        if field == "name":
            value = value.strip()
            if len(value) > MAX_NAME:
                raise InvalidRequest(f"token name must be at most {MAX_NAME} characters", param="name")
        elif field == "expired_time" and value != -1 and value <= 0:
            raise InvalidRequest("expired_time must be a unix time, or -1 for never", param="expired_time")
        elif field == "remain_quota" and value < 0:
            raise InvalidRequest("remain_quota cannot be negative", param="remain_quota")
        elif field in ("rpm_limit", "tpm_limit") and value < 0:
            raise InvalidRequest(f"{field} cannot be negative (0 means no limit)", param=field)
        elif field == "models":
            value = _check_models(value)
        elif field == "subnet":
            value = _check_subnet(value)
        if field not in ("id", "status"):
            out[field] = value
    return out


def _own(session: Session, user_id: int, token_id: int) -> Token:
    token = session.get(Token, token_id)
    if token is None or token.user_id != user_id:
        raise NotFound("token not found")
    return token


def _list(user_id: int, page: Page, keyword: str | None) -> list[dict[str, Any]]:
    query = select(Token).where(Token.user_id == user_id)
    if keyword:
        query = query.where(col(Token.name).startswith(keyword.strip(),
                                                  autoescape=True))
    query = query.order_by(col(Token.id).desc())
    with db_session() as session:
        return [row(token) for token in session.exec(page.apply(query)).all()]


def _get(user_id: int, token_id: int) -> dict[str, Any]:
    with db_session() as session:
        return row(_own(session, user_id, token_id))


def _create(user_id: int, fields: TokenFields) -> dict[str, Any]:
    now = unix_now()
    token = Token(user_id=user_id, key=generate_token_key(), status=TokenStatus.ENABLED, created_time=now,
                  accessed_time=now)
    assign(token, _checked({**_NEW_TOKEN, **sent(fields)}))
    with session_scope() as session:
        session.add(token)
        session.flush()
        return row(token)


def _set_status(token: Token, status: int) -> None:
    """Enable or disable; an expired or used-up token cannot be enabled (as one-api)."""
    if status not in (TokenStatus.ENABLED, TokenStatus.DISABLED):
        raise InvalidRequest("status must be 1 (enabled) or 2 (disabled)", param="status")
    if status == TokenStatus.ENABLED and token.status != TokenStatus.ENABLED:
        if token.expired_time != -1 and token.expired_time <= unix_now():
            raise InvalidRequest("the token has expired and cannot be enabled; change its expiry "
                                 "time or make it never expire first")
        if not token.unlimited_quota and token.remain_quota <= 0:
            raise InvalidRequest("the token's quota is used up and it cannot be enabled; raise its "
                                 "remaining quota or make it unlimited first")
    token.status = status


def _update(user_id: int, fields: TokenUpdate, status_only: bool) -> tuple[dict[str, Any], int]:
    """The updated row and what its remaining quota gained (negative when lowered)."""
    status = fields.status if isinstance(fields.status, int) else None
    if status_only and status is None:
        raise InvalidRequest("status is required with status_only", param="status")
    values = {} if status_only else _checked(sent(fields))
    remain_quota = values.pop("remain_quota", None)
    delta = 0
    with session_scope() as session:
        token = _own(session, user_id, fields.id)
        assign(token, values)
        if remain_quota is not None and remain_quota != token.remain_quota:
            # Relative, like the relay's batch writer, so a concurrent flush is not lost.
            delta = remain_quota - token.remain_quota
            session.flush()
            session.exec(update(Token).where(col(Token.id) == token.id)
                         .values(remain_quota=Token.remain_quota + delta))
            session.refresh(token)
        if status is not None and (status_only or status != token.status):  # an edit form sends it back
            _set_status(token, status)
        session.add(token)
        session.flush()
        updated = row(token)
    return updated, delta


def _delete(user_id: int, token_id: int) -> None:
    with session_scope() as session:
        session.delete(_own(session, user_id, token_id))


class TokenController(Controller):
    path = "/token"
    tags = ("tokens",)
    opt = auth.common
    dependencies: Mapping[str, Provide] = {"me": Provide(auth.caller),
                                           "page": Provide(page_params, sync_to_thread=False)}

    @get("/")
    async def list_tokens(self, me: auth.Me, page: PageArg) -> dict[str, Any]:
        return ok(await run_db(_list, me.id or 0, page, None))

    @get("/search")
    async def search_tokens(self, me: auth.Me, page: PageArg, keyword: FromQuery[str] = "") -> dict[str, Any]:
        return ok(await run_db(_list, me.id or 0, page, keyword))

    @get("/{token_id:int}")
    async def get_token(self, me: auth.Me, token_id: PathId) -> dict[str, Any]:
        return ok(await run_db(_get, me.id or 0, token_id))

    @api_post("/")
    async def create_token(self, request: Request, me: auth.Me,
                           data: JSONBody[TokenFields]) -> dict[str, Any]:
        """A new key (``sk-`` + the returned ``key``)."""
        token = await run_db(_create, me.id or 0, data)
        await changed(request, "tokens")
        return ok(token)

    @put("/")
    async def update_token(self, request: Request, me: auth.Me, data: JSONBody[TokenUpdate],
                           status_only: FromQuery[str] = "") -> dict[str, Any]:
        """Update a token; with ``?status_only=1`` only enable/disable it."""
        token, delta = await run_db(_update, me.id or 0, data, bool(status_only))
        await changed(request, "tokens", tokens={data.id: delta})
        return ok(token)

    @api_delete("/{token_id:int}")
    async def delete_token(self, request: Request, me: auth.Me, token_id: PathId) -> dict[str, Any]:
        await run_db(_delete, me.id or 0, token_id)
        await changed(request, "tokens")
        return ok()
