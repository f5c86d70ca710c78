"""Channels (admin): one-api's ``/api/channel`` CRUD, batch add and the model lists.

A channel's key is never returned in full: lists and reads show a masked key, and an
update that leaves ``key`` empty keeps the stored one. A ``key`` with several lines
creates one channel per line, as one-api's batch add. Every save rebuilds the channel's
abilities and tells the relay cache at once.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, get, put
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy import delete, or_
from sqlmodel import Session, select

from oneapi.api import auth
from oneapi.api.abilities import delete_abilities, rebuild_abilities, split_list
from oneapi.api.channel_test import run_channel_test, start_test_all
from oneapi.api.common import (
    Page,
    PageArg,
    api_delete,
    api_post,
    changed,
    ok,
    page_params,
    row,
    run_db,
    unix_now,
)
from oneapi.api.vendor import BALANCE_TYPES, fetch_models, query_balance
from oneapi.cache import CachedChannel, cached_channel
from oneapi.channel_types import CHANNEL_TYPES
from oneapi.db.engine import get_engine, session_scope
from oneapi.db.models import Channel, Status
from oneapi.errors import GatewayError, InvalidRequest, NotFound
from oneapi.runtime import Runtime
from oneapi.security import mask_key

__all__ = ("ChannelController", "channel_row", "get_channel", "list_models", "models_by_type",
           "models_per_type")

MAX_GROUP = 32  # the column is varchar(32)
MAX_MODEL_MAPPING = 1024
_STATUSES = (Status.ENABLED, Status.DISABLED, Status.AUTO_DISABLED)


class ChannelFields(msgspec.Struct):
    type: int = 1
    key: str = ""
    name: str = ""
    base_url: str | None = ""
    other: str | None = ""
    models: str = ""
    group: str = "default"
    model_mapping: str | None = ""
    priority: int | None = 0
    weight: int | None = 0
    config: str | None = ""
    system_prompt: str | None = None
    status: int | None = None


class ChannelUpdate(ChannelFields):
    id: int = 0


def channel_row(channel: Channel) -> dict[str, Any]:
    """A channel for the admin UI, its key masked."""
    data = row(channel)
    data["key"] = mask_key(channel.key)
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


def _apply(channel: Channel, fields: ChannelFields) -> None:
    """Validate ``fields`` and copy them onto ``channel`` (the key is handled by callers)."""
    if fields.type not in CHANNEL_TYPES:
        raise InvalidRequest(f"unknown channel type {fields.type}; see GET /api/channel/types", param="type")
    kind = CHANNEL_TYPES[fields.type]
    name = fields.name.strip()
    if len(name) > 191:
        raise InvalidRequest("name must be at most 191 characters", param="name")
    base_url = (fields.base_url or "").strip().rstrip("/")
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidRequest("base_url must be an http(s) URL", param="base_url")
    elif not kind.base_url and not kind.regional:
        raise InvalidRequest(f"base_url is required for channel type {kind.name}", param="base_url")
    models = split_list(fields.models) or list(kind.default_models)
    if not models:
        raise InvalidRequest("models is required (a comma-separated list)", param="models")
    groups = split_list(fields.group) or ["default"]
    group = ",".join(groups)
    if len(group) > MAX_GROUP:
        raise InvalidRequest(f"group must be at most {MAX_GROUP} characters", param="group")
    if fields.status is not None and fields.status not in _STATUSES:
        raise InvalidRequest("status must be 1 (enabled), 2 (disabled) or 3 (auto-disabled)", param="status")
    channel.type = fields.type
    channel.name = name
    channel.base_url = base_url
    channel.other = fields.other or ""
    channel.models = ",".join(models)
    channel.group = group
    channel.model_mapping = _json_object(fields.model_mapping, "model_mapping", MAX_MODEL_MAPPING)
    channel.config = _json_object(fields.config, "config")
    channel.priority = fields.priority or 0
    channel.weight = fields.weight or 0
    channel.system_prompt = fields.system_prompt or None
    if fields.status is not None:
        channel.status = fields.status


def get_channel(session: Session, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound("channel not found")
    return channel


def _list(page: Page, keyword: str | None) -> list[dict[str, Any]]:
    query = select(Channel)
    if keyword is not None:
        keyword = keyword.strip()
        matches = [Channel.name.contains(keyword, autoescape=True)]  # type: ignore[attr-defined]
        if keyword.isdigit():
            matches.append(Channel.id == int(keyword))
        query = query.where(or_(*matches))
    query = query.order_by(Channel.id.desc())  # type: ignore[union-attr]
    with Session(get_engine()) as session:
        return [channel_row(channel) for channel in session.exec(page.apply(query)).all()]


def _get(channel_id: int) -> dict[str, Any]:
    with Session(get_engine()) as session:
        return channel_row(get_channel(session, channel_id))


def _create(fields: ChannelFields) -> list[dict[str, Any]]:
    keys = [line.strip() for line in fields.key.splitlines() if line.strip()]
    if not keys:
        raise InvalidRequest("key is required (one channel is created per line)", param="key")
    template = Channel(key="")
    _apply(template, fields)
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


def _update(fields: ChannelUpdate) -> dict[str, Any]:
    with session_scope() as session:
        channel = get_channel(session, fields.id)
        _apply(channel, fields)
        key = fields.key.strip()
        if key:
            channel.key = key
        session.add(channel)
        session.flush()
        rebuild_abilities(session, channel)
        return channel_row(channel)


def _delete(channel_id: int) -> None:
    with session_scope() as session:
        session.delete(get_channel(session, channel_id))
        delete_abilities(session, channel_id)


def _delete_disabled() -> int:
    with session_scope() as session:
        ids = list(session.exec(select(Channel.id).where(
            Channel.status.in_((Status.DISABLED, Status.AUTO_DISABLED)))).all())  # type: ignore[attr-defined]
        for channel_id in ids:
            delete_abilities(session, channel_id or 0)
        if ids:
            session.exec(delete(Channel).where(Channel.id.in_(ids)))  # type: ignore[call-overload,union-attr]
        return len(ids)


def _cached(channel_id: int) -> CachedChannel:
    with Session(get_engine()) as session:
        return cached_channel(get_channel(session, channel_id))


def _store_balance(channel_id: int, balance: float) -> None:
    with session_scope() as session:
        channel = get_channel(session, channel_id)
        channel.balance = balance
        channel.balance_updated_time = unix_now()
        session.add(channel)


def _balance_channel_ids() -> list[int]:
    query = select(Channel.id).where(Channel.status == Status.ENABLED,
                                     Channel.type.in_(BALANCE_TYPES))  # type: ignore[attr-defined]
    with Session(get_engine()) as session:
        return [channel_id for channel_id in session.exec(query.order_by(Channel.id)).all() if channel_id]


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
    tags = ["channels"]
    opt = auth.admin
    dependencies = {"page": Provide(page_params, sync_to_thread=False), "me": Provide(auth.caller)}

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
    async def test_one(self, request: Request, me: auth.Me, channel_id: FromPath[int],
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
        if not start_test_all(request.app.state.runtime, which, me.id or 0):
            raise InvalidRequest("a channel test run is going on already")
        return ok(message="testing channels in the background; see each channel's test time")

    @get("/fetch_models/{channel_id:int}")
    async def upstream_models(self, request: Request, channel_id: FromPath[int]) -> dict[str, Any]:
        """The models the vendor lists for this channel's key."""
        channel = await run_db(_cached, channel_id)
        return ok(await fetch_models(request.app.state.runtime, channel))

    @get("/update_balance/{channel_id:int}")
    async def update_balance(self, request: Request, channel_id: FromPath[int]) -> dict[str, Any]:
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
    async def read_channel(self, channel_id: FromPath[int]) -> dict[str, Any]:
        return ok(await run_db(_get, channel_id))

    @api_post("/")
    async def create_channel(self, request: Request, data: JSONBody[ChannelFields]) -> dict[str, Any]:
        """Create a channel, or one per line of ``key`` (batch add)."""
        created = await run_db(_create, data)
        await changed(request, "channels", "abilities")
        return ok(created if len(created) > 1 else created[0])

    @put("/")
    async def update_channel(self, request: Request, data: JSONBody[ChannelUpdate]) -> dict[str, Any]:
        """Update a channel; an empty ``key`` keeps the stored one."""
        channel = await run_db(_update, data)
        await changed(request, "channels", "abilities")
        return ok(channel)

    @api_delete("/disabled")
    async def delete_disabled(self, request: Request) -> dict[str, Any]:
        """Delete every manually or automatically disabled channel; returns the count."""
        count = await run_db(_delete_disabled)
        await changed(request, "channels", "abilities")
        return ok(count)

    @api_delete("/{channel_id:int}")
    async def delete_channel(self, request: Request, channel_id: FromPath[int]) -> dict[str, Any]:
        await run_db(_delete, channel_id)
        await changed(request, "channels", "abilities")
        return ok()


@get("/models", opt=auth.common, tags=["channels"], sync_to_thread=False)
def models_per_type() -> dict[str, Any]:
    """Built-in model names per channel type number (for the channel editor)."""
    return ok(models_by_type())
