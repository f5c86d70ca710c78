"""Running several replicas: Redis shared state, rate limits, metrics and log retention.

:func:`install_scale` wires these into a runtime whose relay is already installed;
``/metrics`` is served by :mod:`oneapi.console`. ``runtime.state`` gains ``"metrics"``
(:class:`~oneapi.metrics.Metrics`) and, when ``REDIS_CONN_STRING`` is set, ``"shared"``
(:class:`~oneapi.redis_state.SharedState`) and ``"counters"``
(:class:`~oneapi.billing.counters.QuotaCounters`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oneapi.retention import LogRetention

if TYPE_CHECKING:
    from oneapi.runtime import Runtime

__all__ = ("install_scale",)


def install_scale(runtime: Runtime) -> None:
    """Attach Redis (when configured), shared rate limits, metrics and log retention."""
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
        relay.ledger.attach(counters)
        runtime.state.update(shared=shared, counters=counters)
        # after the writer, before the cache: they stop after the relay, counters before Redis
        runtime.components[1:1] = [shared, counters]
    runtime.components.append(LogRetention(shared))
