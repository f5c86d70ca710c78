"""Logs: one-api's ``/api/log`` routes (list, filters, stats, search, retention purge).

The relay writes consume rows in production; this module reads them and writes the
management rows (top-ups, admin changes, channel tests) through :func:`record_log`.
Common users see only their own rows, without channel details.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter
from sqlalchemy import ColumnElement, delete, func, or_
from sqlmodel import Session, col, select

from oneapi.api import auth
from oneapi.api.common import (
    INT32_MAX,
    Page,
    PageArg,
    api_delete,
    keyword_id,
    ok,
    page_params,
    query_int,
    row,
    run_db,
    unix_now,
)
from oneapi.api.context import db_session, session_scope
from oneapi.db.models import Log, LogType, User
from oneapi.errors import InvalidRequest

__all__ = ("LogController", "LogFilter", "log_row", "record_log")

_HIDDEN_FROM_OWNER = frozenset({"channel_id", "other"})


def record_log(session: Session, *, user_id: int, log_type: int, content: str, username: str = "",
               **fields: Any) -> None:
    """Add a log row to ``session`` (committed with the caller's transaction)."""
    if not username and user_id:
        user = session.get(User, user_id)
        username = user.username if user else ""
    session.add(Log(user_id=user_id, created_at=unix_now(), type=log_type, content=content,
                    username=username, **fields))


# what the log detail shows an owner: their price (the content says it in words too) and
# their request's own facts; the channel path and the upstream model are the admin's
_OWNER_FACTS = ("model_ratio", "completion_ratio", "group_ratio", "cache_ratio", "create_cache_ratio",
                "cache_read_tokens", "cache_write_tokens", "omitted-tools")


def log_row(log: Log, *, owner_view: bool = False) -> dict[str, Any]:
    """A log as one-api's front ends read it (``channel`` holds the channel id).

    An owner sees of ``other`` only the facts about their own request (ratios, cache tokens,
    omitted tools), not the channel path or the upstream model.
    """
    data = row(log, exclude=_HIDDEN_FROM_OWNER if owner_view else frozenset())
    if not owner_view:
        data["channel"] = data.pop("channel_id")
    elif log.other:
        try:
            facts = json.loads(log.other)
        except ValueError:
            facts = {}
        kept = {name: facts[name] for name in _OWNER_FACTS if isinstance(facts, dict) and name in facts}
        if kept:
            data["other"] = json.dumps(kept)
    return data


@dataclass(frozen=True)
class LogFilter:
    """One-api's log filters; zero or empty means "any"."""

    type: int = 0
    start_timestamp: int = 0
    end_timestamp: int = 0
    username: str = ""
    token_name: str = ""
    model_name: str = ""
    channel: int = 0
    user_id: int = 0

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.type:
            where.append(col(Log.type) == self.type)
        if self.start_timestamp:
            where.append(col(Log.created_at) >= self.start_timestamp)
        if self.end_timestamp:
            where.append(col(Log.created_at) <= self.end_timestamp)
        if self.username:
            where.append(col(Log.username) == self.username)
        if self.token_name:
            where.append(col(Log.token_name) == self.token_name)
        if self.model_name:
            where.append(col(Log.model_name) == self.model_name)
        if self.channel:
            where.append(col(Log.channel_id) == self.channel)
        if self.user_id:
            where.append(col(Log.user_id) == self.user_id)
        return where


FiltersArg = NamedDependency["LogFilter"]


_LENIENT = "; empty or not a number means 0 (any), a fraction is truncated"


def _filter_params(
    type: Annotated[str, QueryParameter(
        description="1 topup, 2 consume, 3 manage, 4 system, 5 test" + _LENIENT)] = "",
    start_timestamp: Annotated[str, QueryParameter(description="unix seconds" + _LENIENT)] = "",
    end_timestamp: Annotated[str, QueryParameter(description="unix seconds" + _LENIENT)] = "",
    username: FromQuery[str] = "", token_name: FromQuery[str] = "", model_name: FromQuery[str] = "",
    channel: Annotated[str, QueryParameter(description="channel id" + _LENIENT)] = "",
) -> LogFilter:
    """One-api's log filters, read as leniently as one-api reads them (its pages send
    ``channel=`` and fractional timestamps)."""
    return LogFilter(type=query_int(type, "type", low=0, high=INT32_MAX),
                     start_timestamp=query_int(start_timestamp, "start_timestamp", low=0),
                     end_timestamp=query_int(end_timestamp, "end_timestamp", low=0),
                     username=username, token_name=token_name, model_name=model_name,
                     channel=query_int(channel, "channel", low=0, high=INT32_MAX))


def _list(where: list[ColumnElement[bool]], page: Page, owner_view: bool) -> list[dict[str, Any]]:
    with db_session() as session:
        query = select(Log).where(*where).order_by(col(Log.id).desc())
        return [log_row(log, owner_view=owner_view) for log in session.exec(page.apply(query)).all()]


def _stat(where: list[ColumnElement[bool]]) -> dict[str, int]:
    """Quota and tokens spent by consume rows (one-api's ``SumUsedQuota``)."""
    with db_session() as session:
        query = select(func.coalesce(func.sum(Log.quota), 0),
                       func.coalesce(func.sum(Log.prompt_tokens + Log.completion_tokens), 0),
                       func.count()).where(Log.type == LogType.CONSUME, *where)
        quota, tokens, count = session.exec(query).one()
        return {"quota": int(quota), "token": int(tokens), "count": int(count)}


def _keyword_conditions(keyword: str) -> list[ColumnElement[bool]]:
    keyword = keyword.strip()
    if not keyword:
        return []
    matches: list[ColumnElement[bool]] = [
        col(column).startswith(keyword, autoescape=True)
        for column in (Log.content, Log.username, Log.token_name, Log.model_name)
    ]
    if (log_type := keyword_id(keyword)) is not None:
        matches.append(col(Log.type) == log_type)
    return [or_(*matches)]


def _purge(before: int) -> int:
    with session_scope() as session:
        result = session.exec(delete(Log).where(col(Log.created_at) < before))
        return int(result.rowcount or 0)


class LogController(Controller):
    path = "/log"
    tags = ("logs",)
    dependencies: Mapping[str, Provide] = {"page": Provide(page_params, sync_to_thread=False),
                                           "filters": Provide(_filter_params, sync_to_thread=False),
                                           "me": Provide(auth.caller)}

    @get("/", opt=auth.admin)
    async def list_all(self, page: PageArg, filters: FiltersArg) -> dict[str, Any]:
        """Every user's logs, newest first, with one-api's filters."""
        return ok(await run_db(_list, filters.conditions(), page, False))

    @get("/stat", opt=auth.admin)
    async def stat_all(self, filters: FiltersArg) -> dict[str, Any]:
        return ok(await run_db(_stat, filters.conditions()))

    @get("/search", opt=auth.admin)
    async def search_all(self, page: PageArg, keyword: FromQuery[str] = "") -> dict[str, Any]:
        return ok(await run_db(_list, _keyword_conditions(keyword), page, False))

    @get("/self", opt=auth.common)
    async def list_self(self, page: PageArg, filters: FiltersArg, me: auth.Me) -> dict[str, Any]:
        """The caller's own logs (the username and channel filters do not apply)."""
        own = LogFilter(type=filters.type, start_timestamp=filters.start_timestamp,
                        end_timestamp=filters.end_timestamp, token_name=filters.token_name,
                        model_name=filters.model_name, user_id=me.id or -1)
        return ok(await run_db(_list, own.conditions(), page, True))

    @get("/self/stat", opt=auth.common)
    async def stat_self(self, filters: FiltersArg, me: auth.Me) -> dict[str, Any]:
        own = LogFilter(start_timestamp=filters.start_timestamp, end_timestamp=filters.end_timestamp,
                        token_name=filters.token_name, model_name=filters.model_name, user_id=me.id or -1)
        return ok(await run_db(_stat, own.conditions()))

    @get("/self/search", opt=auth.common)
    async def search_self(self, page: PageArg, me: auth.Me, keyword: FromQuery[str] = "") -> dict[str, Any]:
        where = [col(Log.user_id) == me.id, *_keyword_conditions(keyword)]
        return ok(await run_db(_list, where, page, True))

    @api_delete("/", opt=auth.admin)
    async def purge(self, target_timestamp: FromQuery[str] = "") -> dict[str, Any]:
        """Delete logs older than ``target_timestamp`` (unix seconds; a fraction is truncated)."""
        before = query_int(target_timestamp, "target_timestamp", low=0)
        if before <= 0:
            raise InvalidRequest("target_timestamp is required (unix seconds; older logs are deleted)",
                                 param="target_timestamp")
        return ok(await run_db(_purge, before))
