"""Groups and pricing: ``GET /api/group/`` and the price table (view, edit, reset).

Prices live where one-api keeps them, in the ``ModelRatio``, ``CompletionRatio`` and
``GroupRatio`` options, with prompt-cache reads and writes in ``CacheRatio`` and
``CreateCacheRatio`` (new-api's names); the built-in table of :mod:`oneapi.billing.ratios` applies
wherever an option says nothing. Resetting clears the overrides, so the built-in
table applies again.

Every signed-in user also sees their own side of the table: the models their group can
call with what a million tokens of each kind costs them (``GET /api/pricing/self``), and
what a given usage costs (``POST /api/pricing/quote``, the playground's cost line). Both
price through :class:`oneapi.billing.pricing.Price`, the relay's own formula, so the
pages never hold price logic of their own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.di import Provide
from litestar.params import JSONBody
from sqlmodel import col, select

from oneapi.api import auth
from oneapi.api.common import Int64, api_post, changed, ok, run_db
from oneapi.api.context import db_session
from oneapi.billing.pricing import Price, price_for
from oneapi.billing.ratios import effective_table, group_ratio
from oneapi.channel_types import CHANNEL_TYPES
from oneapi.db.models import Ability, Channel
from oneapi.errors import InvalidRequest
from oneapi.i18n import N_
from oneapi.options import DEFAULT_OPTIONS, options

__all__ = ("RATIO_OPTIONS", "PricingController", "check_ratio_json", "list_groups")

RATIO_OPTIONS = ("ModelRatio", "CompletionRatio", "CacheRatio", "CreateCacheRatio", "GroupRatio")


MILLION = 1_000_000


class PricingUpdate(msgspec.Struct):
    ModelRatio: dict[str, float] | None = None
    CompletionRatio: dict[str, float] | None = None
    CacheRatio: dict[str, float] | None = None
    CreateCacheRatio: dict[str, float] | None = None
    GroupRatio: dict[str, float] | None = None


def _check_table(key: str, table: Any) -> dict[str, float]:
    if not isinstance(table, dict):
        raise InvalidRequest(N_("{key} must be a JSON object of name to number", key=key), param=key)
    checked: dict[str, float] = {}
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or value < 0:
            raise InvalidRequest(N_("{key}[{name!r}] must be a number of 0 or more",
                                    key=key, name=name), param=key)
        if not str(name).strip():
            raise InvalidRequest(N_("{key} has an empty name", key=key), param=key)
        checked[str(name)] = float(value)
    if key == "GroupRatio" and not checked:
        raise InvalidRequest(N_("GroupRatio needs at least one group"), param=key)
    return checked


def check_ratio_json(key: str, value: str) -> str:
    """Validate a ratio option's JSON text ('' clears any table but GroupRatio)."""
    if not value.strip() and key != "GroupRatio":
        return ""
    try:
        table = json.loads(value)
    except ValueError:
        raise InvalidRequest(N_("{key} is not valid JSON", key=key), param=key) from None
    return json.dumps(_check_table(key, table), ensure_ascii=False)


def list_groups() -> list[str]:
    table = options.get_json("GroupRatio", None)
    return list(table) if isinstance(table, dict) else ["default", "vip", "svip"]


class QuotedUsage(msgspec.Struct):
    """An answer's usage, as the OpenAI ``usage`` object counts it (cached tokens included
    in ``prompt_tokens``)."""

    model: str
    prompt_tokens: Int64 = 0
    completion_tokens: Int64 = 0
    cached_tokens: Int64 = 0
    cache_write_tokens: Int64 = 0


def _ratios(price: Price) -> dict[str, float]:
    return {"model_ratio": price.model_ratio, "completion_ratio": price.completion_ratio,
            "group_ratio": price.group_ratio, "cache_ratio": price.cache_ratio,
            "create_cache_ratio": price.create_cache_ratio}


def _per_million(price: Price) -> dict[str, int]:
    """Quota for a million tokens of each kind, by the relay's own formula."""
    return {"input": price.text_quota(MILLION, 0), "output": price.text_quota(0, MILLION),
            "cache_read": price.text_quota(MILLION, 0, cache_read=MILLION),
            "cache_write": price.text_quota(MILLION, 0, cache_write=MILLION)}


def _group_models(group: str) -> dict[str, Any]:
    """The models ``group`` can call through enabled channels, each with the names of the
    channel types that serve it and its prices after the group's ratio."""
    query = (select(Ability.model, Channel.type).join(Channel, col(Channel.id) == col(Ability.channel_id))
             .where(col(Ability.group) == group, col(Ability.enabled) == True).distinct())  # noqa: E712
    served: dict[str, set[str]] = {}
    with db_session() as session:
        for model, type_id in session.exec(query).all():
            kind = CHANNEL_TYPES.get(type_id)
            served.setdefault(model, set()).add(kind.name if kind else f"type {type_id}")
    models = []
    for model in sorted(served):
        price = price_for(model, group)
        models.append({"model": model, "channel_types": sorted(served[model]), **_ratios(price),
                       "per_million": _per_million(price)})
    return {"group": group, "group_ratio": group_ratio(group), "models": models}


def _save(values: dict[str, str]) -> None:
    with db_session() as session:
        for key, value in values.items():
            options.save(session, key, value)


@get("/group/", opt=auth.admin, tags=["pricing"], sync_to_thread=False)
def groups() -> dict[str, Any]:
    """The group names (GroupRatio's keys)."""
    return ok(list_groups())


class PricingController(Controller):
    path = "/pricing"
    tags = ("pricing",)
    dependencies: Mapping[str, Provide] = {"me": Provide(auth.caller)}

    @get("/", opt=auth.common, sync_to_thread=False)
    def table(self) -> dict[str, Any]:
        """The effective price table: built-in ratios with the options laid over them."""
        return ok(effective_table())

    @get("/self", opt=auth.common)
    async def own_models(self, me: auth.Me) -> dict[str, Any]:
        """The models the caller's group can call, with the channel types serving each and
        the quota a million input, output, cache-read and cache-write tokens cost them."""
        return ok(await run_db(_group_models, me.group))

    @api_post("/quote", opt=auth.common, sync_to_thread=False)
    def quote(self, me: auth.Me, data: JSONBody[QuotedUsage]) -> dict[str, Any]:
        """What ``data``'s usage of its model costs the caller's group, in quota."""
        if min(data.prompt_tokens, data.completion_tokens, data.cached_tokens, data.cache_write_tokens) < 0:
            raise InvalidRequest(N_("token counts cannot be negative"))
        price = price_for(data.model, me.group)
        quota = price.text_quota(data.prompt_tokens, data.completion_tokens, data.cached_tokens,
                                 data.cache_write_tokens)
        return ok({"model": data.model, "quota": quota, **_ratios(price)})

    @put("/", opt=auth.root)
    async def edit(self, request: Request, data: JSONBody[PricingUpdate]) -> dict[str, Any]:
        """Replace any of the override tables (``RATIO_OPTIONS``)."""
        values = {key: json.dumps(_check_table(key, table), ensure_ascii=False)
                  for key in RATIO_OPTIONS if (table := getattr(data, key)) is not None}
        if not values:
            raise InvalidRequest(N_("give at least one of {options}", options=', '.join(RATIO_OPTIONS)))
        await run_db(_save, values)
        await changed(request, "options")
        return ok(effective_table())

    @api_post("/reset", opt=auth.root)
    async def reset(self, request: Request) -> dict[str, Any]:
        """Drop every price override, so the built-in table applies again."""
        await run_db(_save, {key: DEFAULT_OPTIONS[key] for key in RATIO_OPTIONS})
        await changed(request, "options")
        return ok(effective_table())
