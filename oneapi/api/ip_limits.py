"""Per-IP rate limits on ``/api`` and the web UI, as one-api: a moving window per client address.

``GLOBAL_API_RATE_LIMIT`` requests per 3 minutes on every management route,
``GLOBAL_WEB_RATE_LIMIT`` per 3 minutes on the web UI's pages and static files (a budget of its
own, as one-api keeps them apart), and 20 per 20 minutes on the critical routes (login,
register). ``0`` or ``DEBUG=true`` turns a limit off, as in one-api. Counters live in memory,
one set per app (``Management.ip_limits``, the ``limits`` library's moving-window strategy); a
Redis-backed store can replace the storage later. A token's own limits on the relay are
:mod:`oneapi.relay.token_limits`.

The first ``/api`` call of a process imports ``limits``: 75 M instructions (about 15 ms of CPU),
17 M of them its asyncio half, which its package imports too and these windows never use; that
half is imported only if something reads it (:func:`oneapi.loading.imported_on_first_use`).
"""

from __future__ import annotations

import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from oneapi.api.context import management
from oneapi.errors import RateLimited
from oneapi.i18n import N_
from oneapi.loading import imported_on_first_use
from oneapi.runtime import Runtime

with imported_on_first_use("limits.aio"):  # its asyncio storages, which these windows do not use
    from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

__all__ = ("CRITICAL_LIMIT", "api_rate_limit", "critical_rate_limit", "ip_limiter", "web_rate_limit")

GLOBAL_WINDOW_SECONDS = 180  # one-api's window for both global limits
CRITICAL_LIMIT = RateLimitItemPerMinute(20, 20)  # 20 requests per 20 minutes


def ip_limiter() -> MovingWindowRateLimiter:
    """The windows of one app (``oneapi.api.context.Management.ip_limits``)."""
    return MovingWindowRateLimiter(MemoryStorage())


def _client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


def _hit(connection: ASGIConnection[Any, Any, Any, Any], item: RateLimitItem, mark: str) -> None:
    runtime: Runtime = connection.app.state.runtime
    if runtime.settings.debug:
        return
    limiter = management(connection).ip_limits
    ip = _client_ip(connection)
    if limiter.hit(item, mark, ip):
        return
    reset_at = limiter.get_window_stats(item, mark, ip).reset_time
    raise RateLimited(N_("too many requests; try again later"), retry_after=int(reset_at - time.time()) + 1)


async def api_rate_limit(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Guard for every ``/api`` route: GLOBAL_API_RATE_LIMIT per 3 minutes per IP."""
    runtime: Runtime = connection.app.state.runtime
    limit = runtime.settings.global_api_rate_limit
    if limit > 0:
        _hit(connection, RateLimitItemPerSecond(limit, GLOBAL_WINDOW_SECONDS), "GA")


async def web_rate_limit(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Guard for the web UI's pages and static files: GLOBAL_WEB_RATE_LIMIT per 3 minutes per IP."""
    runtime: Runtime = connection.app.state.runtime
    limit = runtime.settings.global_web_rate_limit
    if limit > 0:
        _hit(connection, RateLimitItemPerSecond(limit, GLOBAL_WINDOW_SECONDS), "GW")


async def critical_rate_limit(connection: ASGIConnection[Any, Any, Any, Any],
                              _handler: BaseRouteHandler) -> None:
    """Guard for login and register: 20 per 20 minutes per IP."""
    _hit(connection, CRITICAL_LIMIT, "CT")
