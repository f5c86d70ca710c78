"""Shared pieces of the management API: the envelope, pagination, threads, quota text,
partial updates and one-api's lenient integers.

Every ``/api`` answer is One API's ``{"success", "message", "data"}`` envelope; errors
are raised as :mod:`oneapi.errors` types and rendered into the same envelope by
:mod:`oneapi.exception_handlers`. A message is written once, in English, marked with
``N_`` (:mod:`oneapi.i18n`), and put in the caller's language where the envelope is
rendered: :func:`localize_message` for successes, the exception handler for errors.

Updates are partial, as one-api's frontends expect: an update body is a msgspec struct
whose fields default to ``UNSET``; :func:`sent` lists the fields the request carried, so
``{"id": 1, "status": 2}`` changes the status only, while ``{"priority": 0}`` does set 0
(one-api's struct update would skip the zero). ``null`` means "left out", as a nil
pointer does in one-api.

Query integers are read as one-api reads them (``strconv.Atoi`` with the error dropped):
empty or garbage is the default, ``1796115923.856`` is truncated, because its frontends
send ``channel=`` and fractional timestamps. Every integer is bounded by its column, so
a value past the range is a ``success: false`` naming the parameter, never a database
overflow.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar

import msgspec
from litestar import Request, Response, delete, post
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter
from sqlalchemy import Select, update
from sqlmodel import Session, SQLModel, col, select

from oneapi.db.models import User
from oneapi.errors import InvalidRequest
from oneapi.i18n import N_, Text, localized
from oneapi.options import options
from oneapi.runtime import Runtime

__all__ = (
    "DEFAULT_PAGE_SIZE",
    "INT32_MAX",
    "INT64_MAX",
    "MAX_PAGE_SIZE",
    "UNSET",
    "Id",
    "Int32",
    "Int64",
    "Page",
    "PageArg",
    "PathId",
    "Unset",
    "add_user_quota",
    "api_delete",
    "api_post",
    "assign",
    "before_api_request",
    "changed",
    "format_quota",
    "keyword_id",
    "localize_message",
    "ok",
    "page_params",
    "query_int",
    "refuse_nul",
    "row",
    "run_db",
    "sent",
    "unix_now",
)

P = ParamSpec("P")
T = TypeVar("T")
_Query = TypeVar("_Query", bound=Select[Any])  # sqlalchemy's or sqlmodel's select, kept as given

DEFAULT_PAGE_SIZE = 10  # one-api's ItemsPerPage
MAX_PAGE_SIZE = 100
INT32_MAX = 2**31 - 1  # integer columns and primary keys (PostgreSQL and MySQL INT)
INT64_MAX = 2**63 - 1  # bigint columns: quotas, times

_INTEGER = re.compile(r"[+-]?[0-9]+")
UNSET = msgspec.UNSET
Unset = msgspec.UnsetType
Int32 = Annotated[int, msgspec.Meta(ge=-INT32_MAX - 1, le=INT32_MAX)]
Int64 = Annotated[int, msgspec.Meta(ge=-INT64_MAX - 1, le=INT64_MAX)]
Id = Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)]
PathId = Annotated[int, Parameter(ge=0, le=INT32_MAX)]  # a row id in the path


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
    so an admin change and a flush of relay consumption never overwrite each other. A sum
    past the bigint column is refused (SQLite would silently store it as a float)."""
    current = session.exec(select(User.quota).where(User.id == user_id)).first() or 0
    if not -INT64_MAX - 1 <= current + delta <= INT64_MAX:
        raise InvalidRequest(N_("the user's quota would pass the largest number the database holds"),
                             param="quota")
    session.exec(update(User).where(col(User.id) == user_id).values(quota=User.quota + delta))


def _nul_path(value: Any, path: str) -> str | None:
    """Where in a decoded JSON value a string holds a NUL character, if anywhere."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return f"{path}.{key!r}"
        found = _nul_path(item, f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]")
        if found is not None:
            return found
    return None


_api_request: ContextVar[Request | None] = ContextVar("oneapi_api_request", default=None)


async def before_api_request(request: Request) -> None:
    """Every ``/api`` route's first step: keep the request for the envelope's language
    (:func:`localize_message`), and refuse NUL text (:func:`refuse_nul`)."""
    _api_request.set(request)
    await refuse_nul(request)


async def localize_message(response: Response) -> Response:
    """A successful envelope's message in the caller's language (errors: ``oneapi.exception_handlers``)."""
    content = response.content
    if isinstance(content, dict) and isinstance(message := content.get("message"), Text):
        request = _api_request.get()
        content["message"] = localized(request, message) if request is not None else str(message)
    return response


async def refuse_nul(request: Request) -> None:
    """Refuse text with a NUL character, which PostgreSQL cannot store or compare (one
    before-request check for every ``/api`` route, so each database answers the same)."""
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise InvalidRequest(N_("query parameter {name!r} contains a NUL character",
                                    name=name), param=name)
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    body = await request.body()
    if b"\\u0000" in body:
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return  # the handler reports the malformed body
        if (where := _nul_path(decoded, "$")) is not None:
            raise InvalidRequest(N_("{where} contains a NUL character", where=where), param=where)


def sent(body: msgspec.Struct) -> dict[str, Any]:
    """The fields ``body`` carried: neither left out (``UNSET``) nor ``null``."""
    return {name: value for name in body.__struct_fields__
            if (value := getattr(body, name)) is not UNSET and value is not None}


def assign(target: SQLModel, values: Mapping[str, Any]) -> set[str]:
    """Set ``values`` on a row; the names of the columns whose value changed."""
    changed_fields = {field for field, value in values.items() if getattr(target, field) != value}
    for field in changed_fields:
        setattr(target, field, values[field])
    return changed_fields


def query_int(raw: str | None, name: str, *, default: int = 0, low: int = -INT64_MAX - 1,
              high: int = INT64_MAX) -> int:
    """A query integer read as one-api reads it: empty or not a number is ``default``, a
    fraction is truncated; a number outside ``low..high`` is refused, naming ``name``."""
    text = (raw or "").strip()
    too_big = (low - 1) if text.startswith("-") else (high + 1)
    if _INTEGER.fullmatch(text):
        value = int(text) if len(text) <= 20 else too_big  # longer cannot fit; skip the conversion
    else:
        try:
            number = float(text)
        except ValueError:
            return default
        if math.isnan(number):
            return default
        value = int(number) if math.isfinite(number) else too_big
    if not low <= value <= high:
        raise InvalidRequest(N_("{name} must be between {low} and {high}",
                                name=name, low=low, high=high), param=name)
    return value


def keyword_id(keyword: str) -> int | None:
    """The id a search keyword names, when it is a plain ASCII number that fits an id."""
    if keyword.isascii() and keyword.isdigit() and int(keyword) <= INT32_MAX:
        return int(keyword)
    return None


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

    def apply(self, query: _Query) -> _Query:
        return query.offset(self.index * self.size).limit(self.size)


def page_params(
    p: Annotated[str, QueryParameter(description="page index from 0 (one-api's p); empty means 0")] = "",
    page_size: Annotated[str, QueryParameter(
        description=f"items per page, 1 to {MAX_PAGE_SIZE}; empty means {DEFAULT_PAGE_SIZE}")] = "",
) -> Page:
    return Page(index=query_int(p, "p", low=0, high=INT32_MAX),
                size=query_int(page_size, "page_size", default=DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE))


PageArg = NamedDependency[Page]  # a handler parameter filled by ``page_params``
