"""Channels (admin): one-api's ``/api/channel`` CRUD, batch add and the model lists.

A channel's key never leaves the server in a read answer (``key`` is empty, as one-api
leaves it out); an update whose ``key`` is empty or the masked form of the stored key
keeps the stored one. Only root can see a key, through the logged ``/reveal_key`` route.
A ``key`` with several lines creates one channel per line, as one-api's batch add.

Updates are partial (:func:`oneapi.api.common.sent`): one-api's list page disables a
channel with ``{"id": 1, "status": 2}`` and must change nothing else. The abilities index
is rebuilt only when a field it is made of (models, group, status, priority) changed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, get, put
from litestar.di import Provide
from litestar.params import FromQuery, JSONBody, QueryParameter
from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from oneapi.api import auth
from oneapi.api.abilities import delete_abilities, rebuild_abilities, split_list
from oneapi.api.channel_test import run_channel_test
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
    keyword_id,
    ok,
    page_params,
    row,
    run_db,
    sent,
    unix_now,
)
from oneapi.api.context import db_session, management, session_scope
from oneapi.api.logs import record_log
from oneapi.api.vendor_account import BALANCE_TYPES, fetch_models, query_balance
from oneapi.cache import CachedChannel, cached_channel
from oneapi.channel_types import CHANNEL_TYPES
from oneapi.db.models import Channel, LogType, Status
from oneapi.errors import GatewayError, InvalidRequest, NotFound
from oneapi.runtime import Runtime
from oneapi.security import mask_key

__all__ = ("ChannelController", "channel_row", "get_channel", "list_models", "models_by_type",
           "models_per_type")

log = logging.getLogger("oneapi.api.channels")

MAX_GROUP = 32  # the column is varchar(32)
MAX_MODEL_MAPPING = 1024
_STATUSES = (Status.ENABLED, Status.DISABLED, Status.AUTO_DISABLED)
_ABILITY_FIELDS = ("models", "group", "status", "priority")
# A new channel: what a field left out of the create request becomes.
_NEW_CHANNEL: dict[str, Any] = {"type": 1, "name": "", "base_url": "", "other": "", "models": "",
                                "group": "default", "model_mapping": "", "priority": 0, "weight": 0,
                                "config": "", "status": Status.ENABLED}


class ChannelFields(msgspec.Struct):
    """A channel as the admin sends it; a field left out (or ``null``) keeps its value."""

    type: Int32 | Unset = UNSET
    key: str | Unset = UNSET
    name: str | Unset = UNSET
    base_url: str | Unset | None = UNSET
    other: str | Unset | None = UNSET
    models: str | Unset = UNSET
    group: str | Unset = UNSET
    model_mapping: str | Unset | None = UNSET
    priority: Int64 | Unset | None = UNSET
    weight: Annotated[int, msgspec.Meta(ge=0, le=2 ** 31 - 1)] | Unset | None = UNSET
    config: str | Unset | None = UNSET
    system_prompt: str | Unset | None = UNSET
    status: Int32 | Unset | None = UNSET


class ChannelUpdate(ChannelFields, kw_only=True):
    id: Id


def channel_row(channel: Channel) -> dict[str, Any]:
    """A channel for the admin UI, without its key (as one-api's reads)."""
    data = row(channel)
    data["key"] = ""
    return data


def _json_object(value: str | None, field: str, limit: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if limit is not None and len(value) > limit:
        raise InvalidRequest(f"{field} must be at most {limit} characters", param=field)
    try:
        parsed = json.loads(value)
    except ValueError:
        raise InvalidRequest(f"{field} must be a JSON object", param=field) from None
    if not isinstance(parsed, dict):
        raise InvalidRequest(f"{field} must be a JSON object", param=field)
    return value


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """The sent fields, validated and normalised into column values (the key excepted)."""
    out: dict[str, Any] = {}
    for field, value in values.items():
        if field == "type":
            if value not in CHANNEL_TYPES:
                raise InvalidRequest(f"unknown channel type {value}; see GET /api/channel/types",
                                     param="type")
            out[field] = value
        elif field == "name":
            name = value.strip()
            if len(name) > 191:
                raise InvalidRequest("name must be at most 191 characters", param="name")
            out[field] = name
        elif field == "base_url":
            base_url = value.strip().rstrip("/")
            parts = urlsplit(base_url)
            if base_url and (parts.scheme not in ("http", "https") or not parts.netloc):
                raise InvalidRequest("base_url must be an http(s) URL", param="base_url")
            out[field] = base_url
        elif field == "models":
            out[field] = ",".join(split_list(value))
        elif field == "group":
            group = ",".join(split_list(value) or ["default"])
            if len(group) > MAX_GROUP:
                raise InvalidRequest(f"group must be at most {MAX_GROUP} characters", param="group")
            out[field] = group
        elif field == "model_mapping":
            out[field] = _json_object(value, field, MAX_MODEL_MAPPING)
        elif field == "config":
            out[field] = _json_object(value, field)
        elif field == "status":
            if value not in _STATUSES:
                raise InvalidRequest("status must be 1 (enabled), 2 (disabled) or 3 (auto-disabled)",
                                     param="status")
            out[field] = value
        elif field == "system_prompt":
            out[field] = value or None
        elif field != "key":
            out[field] = value
    return out


def _apply(channel: Channel, values: dict[str, Any]) -> set[str]:
    """Copy checked ``values`` onto ``channel``; the names of the columns that changed."""
    changed_fields = assign(channel, values)
    kind = CHANNEL_TYPES[channel.type]
    if not channel.models:
        if not kind.default_models:
            raise InvalidRequest("models is required (a comma-separated list)", param="models")
        channel.models = ",".join(kind.default_models)
        changed_fields.add("models")
    if not channel.base_url and not kind.base_url and not kind.regional:
        raise InvalidRequest(f"base_url is required for channel type {kind.name}", param="base_url")
    return changed_fields


def get_channel(session: Session, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound("channel not found")
    return channel


def _list(page: Page, keyword: str | None) -> list[dict[str, Any]]:
    query = select(Channel)
    if keyword is not None:
        keyword = keyword.strip()
        matches = [col(Channel.name).contains(keyword, autoescape=True)]
        if (channel_id := keyword_id(keyword)) is not None:
            matches.append(col(Channel.id) == channel_id)
        query = query.where(or_(*matches))
    query = query.order_by(col(Channel.id).desc())
    with db_session() as session:
        return [channel_row(channel) for channel in session.exec(page.apply(query)).all()]


def _get(channel_id: int) -> dict[str, Any]:
    with db_session() as session:
        return channel_row(get_channel(session, channel_id))


def _create(fields: ChannelFields) -> list[dict[str, Any]]:
    keys = [line.strip() for line in (fields.key or "").splitlines() if line.strip()]
    if not keys:
        raise InvalidRequest("key is required (one channel is created per line)", param="key")
    values = _checked({**_NEW_CHANNEL, **sent(fields)})
    template = Channel(key="")
    _apply(template, values)
    created = []
    with session_scope() as session:
        for key in keys:
            fields_copy = template.model_dump(exclude={"id", "key", "created_time"})
            channel = Channel(**fields_copy, key=key, created_time=unix_now())
            session.add(channel)
            session.flush()
            rebuild_abilities(session, channel)
            created.append(channel)
        return [channel_row(channel) for channel in created]


def _new_key(stored: str, key: str | Unset) -> str | None:
    """The key an update stores: none when it is left out, empty, or the stored key masked."""
    if not isinstance(key, str) or not key.strip() or key.strip() == mask_key(stored):
        return None
    return key.strip()


def _update(fields: ChannelUpdate) -> tuple[dict[str, Any], bool]:
    """The updated channel and whether its abilities were rebuilt."""
    values = sent(fields)
    values.pop("id")
    checked = _checked(values)
    with session_scope() as session:
        channel = get_channel(session, fields.id)
        changed_fields = _apply(channel, checked)
        key = _new_key(channel.key, fields.key)
        if key is not None:
            channel.key = key
        session.add(channel)
        session.flush()
        rebuild = bool(changed_fields.intersection(_ABILITY_FIELDS))
        if rebuild:
            rebuild_abilities(session, channel)
        return channel_row(channel), rebuild


def _reveal_key(channel_id: int, root_id: int) -> str:
    """The channel's stored key, for root; each reveal is written to the logs."""
    with session_scope() as session:
        channel = get_channel(session, channel_id)
        record_log(session, user_id=root_id, log_type=LogType.MANAGE, channel_id=channel_id,
                   content=f"revealed the key of channel #{channel_id} ({channel.name})")
        return channel.key


def _delete(channel_id: int) -> None:
    with session_scope() as session:
        session.delete(get_channel(session, channel_id))
        delete_abilities(session, channel_id)


def _delete_disabled() -> int:
    with session_scope() as session:
        ids = list(session.exec(select(Channel.id).where(
            col(Channel.status).in_((Status.DISABLED, Status.AUTO_DISABLED)))).all())
        for channel_id in ids:
            delete_abilities(session, channel_id or 0)
        if ids:
            session.exec(delete(Channel).where(col(Channel.id).in_(ids)))
        return len(ids)


def _cached(channel_id: int) -> CachedChannel:
    with db_session() as session:
        return cached_channel(get_channel(session, channel_id))


def _store_balance(channel_id: int, balance: float) -> None:
    with session_scope() as session:
        channel = get_channel(session, channel_id)
        channel.balance = balance
        channel.balance_updated_time = unix_now()
        session.add(channel)


def _balance_channel_ids() -> list[int]:
    query = select(Channel.id).where(Channel.status == Status.ENABLED,
                                     col(Channel.type).in_(BALANCE_TYPES))
    with db_session() as session:
        return [channel_id for channel_id in session.exec(query.order_by(col(Channel.id))).all()
                if channel_id]


async def _update_balance(runtime: Runtime, channel_id: int) -> float:
    balance = await query_balance(runtime, await run_db(_cached, channel_id))
    await run_db(_store_balance, channel_id, balance)
    return balance


def models_by_type() -> dict[int, list[str]]:
    """Each channel type's built-in model list (one-api's ``/api/models``)."""
    return {kind.id: list(kind.default_models) for kind in CHANNEL_TYPES.values()}


def list_models() -> list[dict[str, Any]]:
    """Every built-in model once, as OpenAI model objects owned by their first type."""
    created = int(time.mktime((2024, 1, 1, 0, 0, 0, 0, 0, 0)))
    seen: dict[str, dict[str, Any]] = {}
    for kind in CHANNEL_TYPES.values():
        for model in kind.default_models:
            seen.setdefault(model, {"id": model, "object": "model", "created": created,
                                    "owned_by": kind.name, "root": model, "parent": None})
    return list(seen.values())


class ChannelController(Controller):
    path = "/channel"
    tags = ("channels",)
    opt = auth.admin
    dependencies: Mapping[str, Provide] = {"page": Provide(page_params, sync_to_thread=False),
                                           "me": Provide(auth.caller)}

    @get("/")
    async def list_channels(self, page: PageArg) -> dict[str, Any]:
        return ok(await run_db(_list, page, None))

    @get("/search")
    async def search_channels(self, page: PageArg, keyword: FromQuery[str] = "") -> dict[str, Any]:
        return ok(await run_db(_list, page, keyword))

    @get("/models", sync_to_thread=False)
    def builtin_models(self) -> dict[str, Any]:
        """The built-in models of every channel type, as OpenAI model objects."""
        return ok(list_models())

    @get("/types", sync_to_thread=False)
    def types(self) -> dict[str, Any]:
        """Channel types: number, name, default base URL, default models, the replacement of retired ones."""
        return ok([{"id": kind.id, "name": kind.name, "base_url": kind.base_url,
                    "models": list(kind.default_models), "deprecated": kind.deprecated,
                    "replaced_by": kind.replaced_by} for kind in CHANNEL_TYPES.values()])

    @get("/test/{channel_id:int}")
    async def test_one(self, request: Request, me: auth.Me, channel_id: PathId,
                       model: FromQuery[str] = "") -> dict[str, object]:
        """Send one real chat request through the channel (``model`` defaults to its first)."""
        outcome = await run_channel_test(request.app.state.runtime, channel_id, model or None,
                                         tester_id=me.id or 0)
        return outcome.envelope()

    @get("/test")
    async def test_all(self, request: Request, me: auth.Me,
                       which: Annotated[str, QueryParameter(name="scope")] = "all") -> dict[str, Any]:
        """Test channels in the background: ``scope`` all (default) or disabled (auto-disabled)."""
        if which not in ("all", "disabled"):
            raise InvalidRequest("scope must be all or disabled", param="scope")
        if not management(request).channel_tests.start_all(which, me.id or 0):
            raise InvalidRequest("a channel test run is going on already")
        return ok(message="testing channels in the background; see each channel's test time")

    @get("/fetch_models/{channel_id:int}")
    async def upstream_models(self, request: Request, channel_id: PathId) -> dict[str, Any]:
        """The models the vendor lists for this channel's key."""
        channel = await run_db(_cached, channel_id)
        return ok(await fetch_models(request.app.state.runtime, channel))

    @get("/update_balance/{channel_id:int}")
    async def update_balance(self, request: Request, channel_id: PathId) -> dict[str, Any]:
        """Ask the vendor for the account's balance and store it on the channel."""
        balance = await _update_balance(request.app.state.runtime, channel_id)
        return {**ok(balance), "balance": balance}

    @get("/update_balance")
    async def update_all_balances(self, request: Request) -> dict[str, Any]:
        """Refresh the balance of every enabled channel whose vendor reports one."""
        updated, failed = 0, 0
        for channel_id in await run_db(_balance_channel_ids):
            try:
                await _update_balance(request.app.state.runtime, channel_id)
                updated += 1
            except GatewayError:
                failed += 1
        return ok({"updated": updated, "failed": failed})

    @get("/{channel_id:int}")
    async def read_channel(self, channel_id: PathId) -> dict[str, Any]:
        return ok(await run_db(_get, channel_id))

    @api_post("/")
    async def create_channel(self, request: Request, data: JSONBody[ChannelFields]) -> dict[str, Any]:
        """Create a channel, or one per line of ``key`` (batch add)."""
        created = await run_db(_create, data)
        await changed(request, "channels", "abilities")
        return ok(created if len(created) > 1 else created[0])

    @put("/")
    async def update_channel(self, request: Request, data: JSONBody[ChannelUpdate]) -> dict[str, Any]:
        """Update the fields sent; an empty or masked ``key`` keeps the stored one."""
        channel, rebuilt = await run_db(_update, data)
        await changed(request, "channels", *(("abilities",) if rebuilt else ()))
        return ok(channel)

    @api_post("/{channel_id:int}/reveal_key", opt=auth.root)
    async def reveal_key(self, me: auth.Me, channel_id: PathId) -> dict[str, Any]:
        """The channel's stored key (root only; every reveal is logged)."""
        key = await run_db(_reveal_key, channel_id, me.id or 0)
        log.warning("user #%s revealed the key of channel #%d", me.id, channel_id)
        return ok({"key": key})

    @api_delete("/disabled")
    async def delete_disabled(self, request: Request) -> dict[str, Any]:
        """Delete every manually or automatically disabled channel; returns the count."""
        count = await run_db(_delete_disabled)
        await changed(request, "channels", "abilities")
        return ok(count)

    @api_delete("/{channel_id:int}")
    async def delete_channel(self, request: Request, channel_id: PathId) -> dict[str, Any]:
        await run_db(_delete, channel_id)
        await changed(request, "channels", "abilities")
        return ok()


@get("/models", opt=auth.common, tags=["channels"], sync_to_thread=False)
def models_per_type() -> dict[str, Any]:
    """Built-in model names per channel type number (for the channel editor)."""
    return ok(models_by_type())
