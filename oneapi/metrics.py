"""Prometheus metrics: requests, upstream latency, retries, streams, quota, cache and writer health.

Each app has its own registry (tests build several apps in one process). The hot path
pays for a few dict updates; health figures
(cache age and size, writer backlog, Redis state) are read only when ``/metrics`` is
scraped. Requests are counted by the outermost ASGI app (:mod:`oneapi.edge`) once the
response has ended, by route template, model, channel and status; the relay tells it the
model and channel through a per-request slot (a context variable) so the edge stays
ignorant of the relay.
"""

from __future__ import annotations

import contextvars
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from itertools import accumulate
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from oneapi.cache import RelayCache
    from oneapi.db.writer import BatchWriter
    from oneapi.redis_state import SharedState

__all__ = ("Metrics", "RequestLabels")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class RequestLabels:
    """What the relay learned about the current request (model, last channel tried)."""

    __slots__ = ("channel", "model")

    def __init__(self) -> None:
        self.model = ""
        self.channel = ""


_current: contextvars.ContextVar[RequestLabels | None] = contextvars.ContextVar("metric_labels", default=None)


class Metrics:
    """The relay's figures, kept as plain numbers and turned into metric families when scraped.

    Every update runs on the event loop, as does the scrape, so no update needs a lock;
    prometheus_client's own metric objects take a lock per update, which cost several
    per cent of a relayed request's CPU time (``bench/``).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.in_flight = 0
        self.streams_open = 0
        self.streams = 0
        self.requests: dict[tuple[str, str, str, int], int] = {}  # (route, model, channel, status)
        self.retries: dict[tuple[str], int] = {}  # (model,)
        self.quota: dict[tuple[str, int], int] = {}  # (model, channel)
        self.tokens: dict[tuple[str, str], int] = {}  # (model, "prompt" | "completion")
        self.latency: dict[int, list[float]] = {}  # channel -> count per bucket (+Inf last), then the sum
        self.registry.register(_RelayCollector(self))

    def watch(self, cache: RelayCache, writer: BatchWriter, shared: SharedState | None) -> None:
        """Add the health figures read at scrape time from these components."""
        self.registry.register(_HealthCollector(cache, writer, shared))

    # -- one HTTP request (oneapi.edge) ---------------------------------------------------
    def request_started(self) -> tuple[RequestLabels, contextvars.Token[RequestLabels | None]]:
        """Open the per-request slot the relay fills with model and channel."""
        self.in_flight += 1
        labels = RequestLabels()
        return labels, _current.set(labels)

    def stream_started(self) -> None:
        self.streams += 1
        self.streams_open += 1

    def request_ended(self, route: str, labels: RequestLabels, status: int, streamed: bool,
                      slot: contextvars.Token[RequestLabels | None]) -> None:
        self.in_flight -= 1
        if streamed:
            self.streams_open -= 1
        _current.reset(slot)
        key = (route, labels.model, labels.channel, status)
        self.requests[key] = self.requests.get(key, 0) + 1

    # -- the relay's calls ----------------------------------------------------------------
    @staticmethod
    def model(model: str) -> None:
        labels = _current.get()
        if labels is not None:
            labels.model = model

    def attempt(self, channel_id: int, model: str, retry: bool) -> None:
        labels = _current.get()
        if labels is not None:
            labels.channel = str(channel_id)
        if retry:
            self.retries[model,] = self.retries.get((model,), 0) + 1

    def upstream(self, channel_id: int, seconds: float) -> None:
        counts = self.latency.get(channel_id)
        if counts is None:
            counts = self.latency[channel_id] = [0.0] * (len(_LATENCY_BUCKETS) + 2)
        counts[bisect_left(_LATENCY_BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def charged(self, model: str, channel_id: int, quota: int, prompt: int, completion: int) -> None:
        key = (model, channel_id)
        self.quota[key] = self.quota.get(key, 0) + quota
        tokens = self.tokens
        tokens[model, "prompt"] = tokens.get((model, "prompt"), 0) + prompt
        tokens[model, "completion"] = tokens.get((model, "completion"), 0) + completion


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
        bounds = [*(str(bound) for bound in _LATENCY_BUCKETS), "+Inf"]
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
