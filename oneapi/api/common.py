"""Shared pieces of the management API: the envelope, pagination, threads, quota text.

Every ``/api`` answer is One API's ``{"success", "message", "data"}`` envelope; errors
are raised as :mod:`oneapi.errors` types and rendered into the same envelope by
:mod:`oneapi.exception_handlers`.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

from litestar import Request, delete, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy import Select, update
from sqlmodel import Session, SQLModel

from oneapi.db.models import User
from oneapi.options import options
from oneapi.runtime import Runtime

__all__ = (
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Page",
    "PageArg",
    "add_user_quota",
    "api_delete",
    "api_post",
    "changed",
    "format_quota",
    "ok",
    "page_params",
    "row",
    "run_db",
    "unix_now",
)

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_PAGE_SIZE = 10  # one-api's ItemsPerPage
MAX_PAGE_SIZE = 100


# One API answers every call with HTTP 200 (Litestar defaults POST to 201, DELETE to 204).
api_post = functools.partial(post, status_code=200)
api_delete = functools.partial(delete, status_code=200)


def ok(data: Any = None, message: str = "") -> dict[str, Any]:
    """A successful envelope."""
    return {"success": True, "message": message, "data": data}


def row(model: SQLModel, *, exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """A table row as the JSON object one-api's front ends expect (column names as keys)."""
    return model.model_dump(exclude=set(exclude))


async def run_db(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking database work in a worker thread so the event loop never waits on it."""
    return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))


async def changed(request: Request, *kinds: str, tokens: Mapping[int, int] | None = None,
                  users: Mapping[int, int] | None = None) -> None:
    """Tell the relay cache (and any other listener) that rows of ``kinds`` changed.

    ``tokens`` and ``users`` name the quota changes the committed write made, as deltas
    (id -> amount added), for the quota counters every replica shares.
    """
    runtime: Runtime = request.app.state.runtime
    if tokens or users:
        await runtime.quota_changed(tokens or {}, users or {})
    await runtime.data_changed(*kinds)


def add_user_quota(session: Session, user_id: int, delta: int) -> None:
    """Change a user's quota relative to the stored value, as the relay's batch writer does,
    so an admin change and a flush of relay consumption never overwrite each other."""
    session.exec(update(User).where(User.id == user_id).values(quota=User.quota + delta))  # type: ignore[call-overload]


def unix_now() -> int:
    return int(time.time())


def format_quota(quota: int) -> str:
    """Quota as one-api words it in log lines: dollars when DisplayInCurrency is on."""
    if options.get_bool("DisplayInCurrencyEnabled"):
        per_unit = options.get_float("QuotaPerUnit", 500000.0) or 500000.0
        return f"${quota / per_unit:.6f}"
    return f"{quota} quota"


@dataclass(frozen=True)
class Page:
    """One-api's ``?p=`` (a page index from 0) with an optional page size."""

    index: int
    size: int

    def apply(self, query: Select[Any]) -> Select[Any]:
        return query.offset(self.index * self.size).limit(self.size)


def page_params(
    p: Annotated[int, QueryParameter(description="page index, from 0 (one-api's p)")] = 0,
    page_size: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE, description="items per page")] = (
        DEFAULT_PAGE_SIZE),
) -> Page:
    return Page(index=max(p, 0), size=page_size)


PageArg = NamedDependency[Page]  # a handler parameter filled by ``page_params``
