"""Running several replicas: Redis shared state, rate limits, metrics and log retention.

:func:`install_scale` wires these into a runtime whose relay is already installed and
returns the routes the app adds. ``runtime.state`` gains ``"metrics"``
(:class:`~oneapi.metrics.Metrics`) and, when ``REDIS_CONN_STRING`` is set, ``"shared"``
(:class:`~oneapi.redis_state.SharedState`) and ``"counters"``
(:class:`~oneapi.billing.counters.QuotaCounters`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from oneapi.errors import Unauthorized
from oneapi.retention import LogRetention
from oneapi.security import constant_time_equal

if TYPE_CHECKING:
    from oneapi.runtime import Runtime

__all__ = ("install_scale", "metrics_endpoint")


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text format; needs ``Authorization: Bearer $METRICS_TOKEN`` when that is set."""
    runtime: Runtime = request.app.state.runtime
    expected = runtime.settings.metrics_token
    if expected:
        given = request.headers.get("authorization", "")
        given = given[7:].strip() if given[:7].lower() == "bearer " else ""
        if not given or not constant_time_equal(given, expected):
            raise Unauthorized("a valid metrics token is required", code="invalid_metrics_token")
    body = generate_latest(runtime.state["metrics"].registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install_scale(runtime: Runtime) -> list[Any]:
    """Attach Redis (when configured), shared rate limits and login back-off, metrics and log retention;
    return the routes."""
    relay = runtime.state["relay"]
    settings = runtime.settings
    metrics = relay.metrics
    metrics.watch(runtime)
    runtime.state["metrics"] = metrics
    shared = None
    if settings.redis_conn_string:
        from oneapi.billing.counters import QuotaCounters, idle_expiry
        from oneapi.redis_state import SharedState

        shared = SharedState(settings.redis_conn_string, settings.redis_key_prefix, settings.redis_timeout)
        counters = QuotaCounters(shared, idle_expiry(settings.sync_frequency, settings.batch_update_interval))
        shared.on_resync(runtime.state["cache"].reload)
        shared.on_resync(counters.clear)  # after the reload: counters re-seed from fresh caches
        relay.limits.attach(shared)
        runtime.state["login_backoff"].attach(shared)
        relay.ledger.attach(counters)
        runtime.state.update(shared=shared, counters=counters)
        # after the writer, before the cache: they stop after the relay, counters before Redis
        runtime.components[1:1] = [shared, counters]
    runtime.components.append(LogRetention(shared))
    return [metrics_endpoint]
