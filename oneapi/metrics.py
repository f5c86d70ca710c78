"""Prometheus metrics: requests, upstream latency, retries, streams, quota, cache and writer health.

Each app has its own registry (tests build several apps in one process). The hot path
pays for a dict lookup of a pre-bound label child and an ``inc()``; health figures
(cache age and size, writer backlog, Redis state) are read only when ``/metrics`` is
scraped. Requests are counted by the outermost ASGI app (:mod:`oneapi.edge`) once the
response has ended, by route template, model, channel and status; the relay tells it the
model and channel through a per-request slot (a context variable) so the edge stays
ignorant of the relay.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from oneapi.runtime import Runtime

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
    """The metric families and cheap recording methods for the relay."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.requests = Counter("oneapi_requests", "HTTP requests answered, by route template, model, "
                                "channel and status", ("route", "model", "channel", "status"), registry=r)
        self.upstream_latency = Histogram("oneapi_upstream_latency_seconds", "Time from sending a request "
                                          "upstream to its response headers, by channel", ("channel",),
                                          buckets=_LATENCY_BUCKETS, registry=r)
        self.retries = Counter("oneapi_relay_retries", "Upstream attempts after the first one, by model",
                               ("model",), registry=r)
        self.streams_open = Gauge("oneapi_streams_open", "Event streams being sent right now", registry=r)
        self.streams = Counter("oneapi_streams", "Event streams started", registry=r)
        self.in_flight = Gauge("oneapi_requests_in_flight", "HTTP requests being answered right now",
                               registry=r)
        self.quota = Counter("oneapi_quota_charged", "Quota charged to users, by model and channel",
                             ("model", "channel"), registry=r)
        self.tokens = Counter("oneapi_tokens", "Tokens billed, by model and kind (prompt, completion)",
                              ("model", "kind"), registry=r)
        self._request_children: dict[tuple[str, str, str, int], Any] = {}
        self._latency_children: dict[int, Any] = {}
        self._retry_children: dict[str, Any] = {}
        self._charge_children: dict[tuple[str, int], tuple[Any, Any, Any]] = {}

    def watch(self, runtime: Runtime) -> None:
        """Add the health figures read at scrape time from the runtime's components."""
        self.registry.register(_HealthCollector(runtime))

    # -- one HTTP request (oneapi.edge) ---------------------------------------------------
    def request_started(self) -> tuple[RequestLabels, contextvars.Token[RequestLabels | None]]:
        """Open the per-request slot the relay fills with model and channel."""
        self.in_flight.inc()
        labels = RequestLabels()
        return labels, _current.set(labels)

    def stream_started(self) -> None:
        self.streams.inc()
        self.streams_open.inc()

    def request_ended(self, route: str, labels: RequestLabels, status: int, streamed: bool,
                      slot: contextvars.Token[RequestLabels | None]) -> None:
        self.in_flight.dec()
        if streamed:
            self.streams_open.dec()
        _current.reset(slot)
        self.answered(route, labels, status)

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
            child = self._retry_children.get(model)
            if child is None:
                child = self._retry_children[model] = self.retries.labels(model)
            child.inc()

    def upstream(self, channel_id: int, seconds: float) -> None:
        child = self._latency_children.get(channel_id)
        if child is None:
            child = self._latency_children[channel_id] = self.upstream_latency.labels(str(channel_id))
        child.observe(seconds)

    def charged(self, model: str, channel_id: int, quota: int, prompt: int, completion: int) -> None:
        key = (model, channel_id)
        children = self._charge_children.get(key)
        if children is None:
            children = self._charge_children[key] = (self.quota.labels(model, str(channel_id)),
                                                      self.tokens.labels(model, "prompt"),
                                                      self.tokens.labels(model, "completion"))
        children[0].inc(quota)
        children[1].inc(prompt)
        children[2].inc(completion)

    def answered(self, route: str, labels: RequestLabels, status: int) -> None:
        key = (route, labels.model, labels.channel, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(route, labels.model, labels.channel,
                                                                       str(status))
        child.inc()


class _HealthCollector(Collector):
    """Cache, batch writer and Redis figures, computed when scraped."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        import time

        state = self.runtime.state
        cache, writer, shared = state.get("cache"), state.get("writer"), state.get("shared")
        if cache is not None:
            age = time.time() - cache.loaded_at if cache.loaded_at else -1
            yield GaugeMetricFamily("oneapi_cache_age_seconds", "Seconds since the cache last loaded the "
                                    "database", value=age)
            size = GaugeMetricFamily("oneapi_cache_entries", "Rows held by the relay cache", labels=("kind",))
            for kind in ("tokens", "users", "channels"):
                size.add_metric((kind,), len(getattr(cache, kind)))
            yield size
        if writer is not None:
            yield GaugeMetricFamily("oneapi_writer_pending_logs", "Log rows waiting for the batch writer",
                                    value=writer.pending_logs)
            yield GaugeMetricFamily("oneapi_writer_pending_quota_rows", "Tokens and users with quota changes "
                                    "not written yet", value=sum(len(d) for d in writer.pending_quota()))
            yield GaugeMetricFamily("oneapi_writer_last_flush_ok", "1 if the last batch write succeeded",
                                    value=0 if getattr(writer, "failing", False) else 1)
        yield GaugeMetricFamily("oneapi_redis_up", "1 when Redis is configured and answering",
                                value=1 if shared is not None and shared.available else 0)
