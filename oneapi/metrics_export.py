"""The Prometheus side of :mod:`oneapi.metrics`: its figures as metric families, when scraped.

Imported by the first read of ``Metrics.registry`` (a ``/metrics`` scrape), so that a process
nobody scrapes never imports prometheus_client (10-15 ms of a boot, ``python -X importtime``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import accumulate
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from oneapi.metrics import LATENCY_BUCKETS, Metrics

if TYPE_CHECKING:
    from oneapi.cache import RelayCache
    from oneapi.db.writer import BatchWriter
    from oneapi.redis_state import SharedState

__all__ = ("build_registry",)


def build_registry(metrics: Metrics,
                   health: tuple[RelayCache, BatchWriter, SharedState | None] | None) -> CollectorRegistry:
    """A registry reading ``metrics`` and, given them, the cache's, writer's and Redis's health."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_RelayCollector(metrics))
    if health is not None:
        registry.register(_HealthCollector(*health))
    return registry


class _RelayCollector(Collector):
    """The figures of :class:`Metrics` as Prometheus families."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        yield _counter("oneapi_requests", "HTTP requests answered, by route template, model, channel and "
                       "status", ("route", "model", "channel", "status"), m.requests)
        latency = HistogramMetricFamily("oneapi_upstream_latency_seconds", "Time from sending a request "
                                        "upstream to its response headers, by channel", labels=("channel",))
        bounds = [*(str(bound) for bound in LATENCY_BUCKETS), "+Inf"]
        for channel, counts in m.latency.items():
            cumulative = list(accumulate(counts[:-1]))
            latency.add_metric((str(channel),), list(zip(bounds, cumulative, strict=True)), counts[-1])
        yield latency
        yield _counter("oneapi_relay_retries", "Upstream attempts after the first one, by model", ("model",),
                       m.retries)
        yield GaugeMetricFamily("oneapi_streams_open", "Event streams being sent right now",
                                value=m.streams_open)
        yield CounterMetricFamily("oneapi_streams", "Event streams started", value=m.streams)
        yield GaugeMetricFamily("oneapi_requests_in_flight", "HTTP requests being answered right now",
                                value=m.in_flight)
        yield _counter("oneapi_quota_charged", "Quota charged to users, by model and channel",
                       ("model", "channel"), m.quota)
        yield _counter("oneapi_tokens", "Tokens billed, by model and kind (prompt, completion)",
                       ("model", "kind"), m.tokens)


_Labels = TypeVar("_Labels", bound=tuple[object, ...])


def _counter(name: str, documentation: str, labels: tuple[str, ...],
             values: Mapping[_Labels, float]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for key, value in values.items():
        family.add_metric([str(part) for part in key], value)
    return family


class _HealthCollector(Collector):
    """Cache, batch writer and Redis figures, computed when scraped."""

    def __init__(self, cache: RelayCache, writer: BatchWriter, shared: SharedState | None) -> None:
        self.cache = cache
        self.writer = writer
        self.shared = shared

    def collect(self) -> Iterator[GaugeMetricFamily]:
        import time

        cache, writer, shared = self.cache, self.writer, self.shared
        age = time.time() - cache.loaded_at if cache.loaded_at else -1
        yield GaugeMetricFamily("oneapi_cache_age_seconds", "Seconds since the cache last loaded the "
                                "database", value=age)
        size = GaugeMetricFamily("oneapi_cache_entries", "Rows held by the relay cache", labels=("kind",))
        for kind in ("tokens", "users", "channels"):
            size.add_metric((kind,), len(getattr(cache, kind)))
        yield size
        yield GaugeMetricFamily("oneapi_writer_pending_logs", "Log rows waiting for the batch writer",
                                value=writer.pending_logs)
        yield GaugeMetricFamily("oneapi_writer_pending_quota_rows", "Tokens and users with quota changes "
                                "not written yet", value=sum(len(d) for d in writer.pending_quota()))
        yield GaugeMetricFamily("oneapi_writer_last_flush_ok", "1 if the last batch write succeeded",
                                value=0 if writer.failing else 1)
        yield GaugeMetricFamily("oneapi_redis_up", "1 when Redis is configured and answering",
                                value=1 if shared is not None and shared.available else 0)
