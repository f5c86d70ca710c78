"""Redemption codes and top-ups: admin CRUD, users redeeming, admins adding quota.

Redeeming locks the code's row (``SELECT ... FOR UPDATE`` where the database has it)
and flips its status with a conditional ``UPDATE``, so one code is redeemed exactly
once even when many requests race, on SQLite too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.di import Provide
from litestar.params import FromQuery, JSONBody
from sqlalchemy import or_, update
from sqlmodel import col, select

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
    add_user_quota,
    api_delete,
    api_post,
    assign,
    changed,
    format_quota,
    keyword_id,
    ok,
    page_params,
    row,
    run_db,
    sent,
    unix_now,
)
from oneapi.api.context import db_session, session_scope
from oneapi.api.logs import record_log
from oneapi.db.models import LogType, Redemption, Status, User
from oneapi.errors import InvalidRequest, NotFound
from oneapi.security import generate_redemption_key

__all__ = ("RedemptionController", "admin_topup", "redeem")

REDEMPTION_USED = 3  # one-api's RedemptionCodeStatusUsed
MAX_BATCH = 100
MAX_NAME = 20


class RedemptionFields(msgspec.Struct):
    name: str = ""
    quota: Int64 = 100
    count: Int32 = 1


class RedemptionUpdate(msgspec.Struct, kw_only=True):
    """A field left out (or ``null``) keeps its value."""

    id: Id
    name: str | Unset | None = UNSET
    quota: Int64 | Unset | None = UNSET
    status: Int32 | Unset | None = UNSET


class TopUpRequest(msgspec.Struct):
    key: str


class AdminTopUp(msgspec.Struct):
    user_id: Id
    quota: Int64
    remark: str = ""


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidRequest(f"name must be 1 to {MAX_NAME} characters", param="name")
    return name


def _check_quota(quota: int) -> int:
    if quota <= 0:
        raise InvalidRequest("quota must be a positive number", param="quota")
    return quota


def _list(page: Page, keyword: str | None) -> list[dict[str, Any]]:
    query = select(Redemption)
    if keyword is not None:
        keyword = keyword.strip()
        matches = [col(Redemption.name).startswith(keyword, autoescape=True)]
        if (code_id := keyword_id(keyword)) is not None:
            matches.append(col(Redemption.id) == code_id)
        query = query.where(or_(*matches))
    query = query.order_by(col(Redemption.id).desc())
    with db_session() as session:
        return [row(code) for code in session.exec(page.apply(query)).all()]


def _get(code_id: int) -> dict[str, Any]:
    with db_session() as session:
        code = session.get(Redemption, code_id)
        if code is None:
            raise NotFound("redemption code not found")
        return row(code)


def _create(fields: RedemptionFields, admin_id: int) -> list[str]:
    name = _check_name(fields.name)
    quota = _check_quota(fields.quota)
    if not 1 <= fields.count <= MAX_BATCH:
        raise InvalidRequest(f"count must be 1 to {MAX_BATCH}", param="count")
    keys = [generate_redemption_key() for _ in range(fields.count)]
    now = unix_now()
    with session_scope() as session:
        for key in keys:
            session.add(Redemption(user_id=admin_id, key=key, name=name, quota=quota, created_time=now,
                                   status=Status.ENABLED))
    return keys


def _update(fields: RedemptionUpdate, status_only: bool) -> dict[str, Any]:
    values = sent(fields)
    values.pop("id")
    if status_only:
        values = {"status": values["status"]} if "status" in values else {}
    if "name" in values:
        values["name"] = _check_name(values["name"])
    if "quota" in values:
        values["quota"] = _check_quota(values["quota"])
    with session_scope() as session:
        code = session.get(Redemption, fields.id)
        if code is None:
            raise NotFound("redemption code not found")
        if values.get("status", code.status) == code.status:  # the edit form sends the status back
            values.pop("status", None)
        elif code.status == REDEMPTION_USED:
            raise InvalidRequest("this code has been redeemed already")
        elif values["status"] not in (Status.ENABLED, Status.DISABLED):
            raise InvalidRequest("status must be 1 (enabled) or 2 (disabled)", param="status")
        assign(code, values)
        session.add(code)
        session.flush()
        return row(code)


def _delete(code_id: int) -> None:
    with session_scope() as session:
        code = session.get(Redemption, code_id)
        if code is None:
            raise NotFound("redemption code not found")
        session.delete(code)


def redeem(user_id: int, key: str) -> int:
    """Add the code's quota to the user once; returns the quota added."""
    key = key.strip()
    if not key:
        raise InvalidRequest("a redemption code is required", param="key")
    with session_scope() as session:
        code = session.exec(select(Redemption).where(Redemption.key == key).with_for_update()).first()
        if code is None:
            raise InvalidRequest("invalid redemption code")
        if code.status != Status.ENABLED:
            raise InvalidRequest("this redemption code has been used or disabled")
        claimed = session.exec(update(Redemption)
                               .where(col(Redemption.id) == code.id, col(Redemption.status) == Status.ENABLED)
                               .values(status=REDEMPTION_USED, redeemed_time=unix_now(), user_id=user_id))
        if claimed.rowcount != 1:
            raise InvalidRequest("this redemption code has been used or disabled")
        add_user_quota(session, user_id, code.quota)
        record_log(session, user_id=user_id, log_type=LogType.TOPUP,
                   content=f"redeemed code {code.id}: {format_quota(code.quota)}")
        return int(code.quota)


def _admin_topup(admin: User, body: AdminTopUp) -> None:
    if body.quota == 0:
        raise InvalidRequest("quota must not be zero", param="quota")
    with session_scope() as session:
        user = session.get(User, body.user_id)
        if user is None:
            raise NotFound("user not found")
        if user.quota + body.quota < 0:
            raise InvalidRequest("the user's quota cannot go below zero", param="quota")
        add_user_quota(session, user.id or 0, body.quota)
        remark = f" ({body.remark.strip()})" if body.remark.strip() else ""
        record_log(session, user_id=user.id or 0, log_type=LogType.TOPUP, username=user.username,
                   content=f"admin {admin.username} {'added' if body.quota > 0 else 'removed'} "
                           f"{format_quota(abs(body.quota))}{remark}")


class RedemptionController(Controller):
    path = "/redemption"
    tags = ("redemptions",)
    opt = auth.admin
    dependencies: Mapping[str, Provide] = {"page": Provide(page_params, sync_to_thread=False),
                                           "me": Provide(auth.caller)}

    @get("/")
    async def list_codes(self, page: PageArg) -> dict[str, Any]:
        return ok(await run_db(_list, page, None))

    @get("/search")
    async def search_codes(self, page: PageArg, keyword: FromQuery[str] = "") -> dict[str, Any]:
        return ok(await run_db(_list, page, keyword))

    @get("/{code_id:int}")
    async def get_code(self, code_id: PathId) -> dict[str, Any]:
        return ok(await run_db(_get, code_id))

    @api_post("/")
    async def create_codes(self, me: auth.Me, data: JSONBody[RedemptionFields]) -> dict[str, Any]:
        """Create ``count`` codes; the answer lists their keys."""
        return ok(await run_db(_create, data, me.id or 0))

    @put("/")
    async def update_code(self, data: JSONBody[RedemptionUpdate],
                          status_only: FromQuery[str] = "") -> dict[str, Any]:
        return ok(await run_db(_update, data, bool(status_only)))

    @api_delete("/{code_id:int}")
    async def delete_code(self, code_id: PathId) -> dict[str, Any]:
        await run_db(_delete, code_id)
        return ok()


@api_post("/user/topup", opt=auth.common, tags=["redemptions"], dependencies={"me": Provide(auth.caller)})
async def user_topup(request: Request, me: auth.Me, data: JSONBody[TopUpRequest]) -> dict[str, Any]:
    """Redeem a code for the caller; answers the quota added."""
    quota = await run_db(redeem, me.id or 0, data.key)
    await changed(request, "users", users={me.id or 0: quota})
    return ok(quota)


@api_post("/topup", opt=auth.admin, tags=["redemptions"], dependencies={"me": Provide(auth.caller)})
async def admin_topup(request: Request, me: auth.Me, data: JSONBody[AdminTopUp]) -> dict[str, Any]:
    """Add (or, with a negative number, remove) quota to a user directly."""
    await run_db(_admin_topup, me, data)
    await changed(request, "users", users={data.user_id: data.quota})
    return ok()
