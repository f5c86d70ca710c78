"""Groups and pricing: ``GET /api/group/`` and the price table (view, edit, reset).

Prices live where one-api keeps them, in the ``ModelRatio``, ``CompletionRatio`` and
``GroupRatio`` options, with prompt-cache reads and writes in ``CacheRatio`` and
``CreateCacheRatio`` (new-api's names); the built-in table of :mod:`oneapi.billing.ratios` applies
wherever an option says nothing. Resetting clears the overrides, so the built-in
table applies again.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import JSONBody

from oneapi.api import auth
from oneapi.api.common import api_post, changed, ok, run_db
from oneapi.api.context import db_session
from oneapi.billing.ratios import effective_table
from oneapi.errors import InvalidRequest
from oneapi.options import DEFAULT_OPTIONS, options

__all__ = ("RATIO_OPTIONS", "PricingController", "check_ratio_json", "list_groups")

RATIO_OPTIONS = ("ModelRatio", "CompletionRatio", "CacheRatio", "CreateCacheRatio", "GroupRatio")


class PricingUpdate(msgspec.Struct):
    ModelRatio: dict[str, float] | None = None
    CompletionRatio: dict[str, float] | None = None
    CacheRatio: dict[str, float] | None = None
    CreateCacheRatio: dict[str, float] | None = None
    GroupRatio: dict[str, float] | None = None


def _check_table(key: str, table: Any) -> dict[str, float]:
    if not isinstance(table, dict):
        raise InvalidRequest(f"{key} must be a JSON object of name to number", param=key)
    checked: dict[str, float] = {}
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or value < 0:
            raise InvalidRequest(f"{key}[{name!r}] must be a number of 0 or more", param=key)
        if not str(name).strip():
            raise InvalidRequest(f"{key} has an empty name", param=key)
        checked[str(name)] = float(value)
    if key == "GroupRatio" and not checked:
        raise InvalidRequest("GroupRatio needs at least one group", param=key)
    return checked


def check_ratio_json(key: str, value: str) -> str:
    """Validate a ratio option's JSON text ('' clears any table but GroupRatio)."""
    if not value.strip() and key != "GroupRatio":
        return ""
    try:
        table = json.loads(value)
    except ValueError:
        raise InvalidRequest(f"{key} is not valid JSON", param=key) from None
    return json.dumps(_check_table(key, table), ensure_ascii=False)


def list_groups() -> list[str]:
    table = options.get_json("GroupRatio", None)
    return list(table) if isinstance(table, dict) else ["default", "vip", "svip"]


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

    @get("/", opt=auth.common, sync_to_thread=False)
    def table(self) -> dict[str, Any]:
        """The effective price table: built-in ratios with the options laid over them."""
        return ok(effective_table())

    @put("/", opt=auth.root)
    async def edit(self, request: Request, data: JSONBody[PricingUpdate]) -> dict[str, Any]:
        """Replace any of the override tables (``RATIO_OPTIONS``)."""
        values = {key: json.dumps(_check_table(key, table), ensure_ascii=False)
                  for key in RATIO_OPTIONS if (table := getattr(data, key)) is not None}
        if not values:
            raise InvalidRequest(f"give at least one of {', '.join(RATIO_OPTIONS)}")
        await run_db(_save, values)
        await changed(request, "options")
        return ok(effective_table())

    @api_post("/reset", opt=auth.root)
    async def reset(self, request: Request) -> dict[str, Any]:
        """Drop every price override, so the built-in table applies again."""
        await run_db(_save, {key: DEFAULT_OPTIONS[key] for key in RATIO_OPTIONS})
        await changed(request, "options")
        return ok(effective_table())
