"""Prometheus metrics: requests, upstream latency, retries, streams, quota, cache and writer health.

Each app has its own registry (tests build several apps in one process). The hot path
pays for a few dict updates; health figures
(cache age and size, writer backlog, Redis state) are read only when ``/metrics`` is
scraped (:mod:`oneapi.metrics_export`, which imports prometheus_client then: a process
nobody scrapes never loads it). Requests are counted by the outermost ASGI app (:mod:`oneapi.edge`) once the
response has ended, by route template, model, channel and status; the relay tells it the
model and channel through a per-request slot (a context variable) so the edge stays
ignorant of the relay.
"""

from __future__ import annotations

import contextvars
from bisect import bisect_left
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from oneapi.cache import RelayCache
    from oneapi.db.writer import BatchWriter
    from oneapi.redis_state import SharedState

__all__ = ("LATENCY_BUCKETS", "Metrics", "RequestLabels")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


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
        self._registry: CollectorRegistry | None = None
        self._watched: tuple[RelayCache, BatchWriter, SharedState | None] | None = None
        self.in_flight = 0
        self.streams_open = 0
        self.streams = 0
        self.requests: dict[tuple[str, str, str, int], int] = {}  # (route, model, channel, status)
        self.retries: dict[tuple[str], int] = {}  # (model,)
        self.quota: dict[tuple[str, int], int] = {}  # (model, channel)
        self.tokens: dict[tuple[str, str], int] = {}  # (model, "prompt" | "completion")
        self.latency: dict[int, list[float]] = {}  # channel -> count per bucket (+Inf last), then the sum

    def watch(self, cache: RelayCache, writer: BatchWriter, shared: SharedState | None) -> None:
        """Add the health figures read at scrape time from these components."""
        self._watched = (cache, writer, shared)
        self._registry = None

    @property
    def registry(self) -> CollectorRegistry:
        """The Prometheus registry that reads these figures, built by the first scrape."""
        if self._registry is None:
            from oneapi.metrics_export import build_registry

            self._registry = build_registry(self, self._watched)
        return self._registry

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
            counts = self.latency[channel_id] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def charged(self, model: str, channel_id: int, quota: int, prompt: int, completion: int) -> None:
        key = (model, channel_id)
        self.quota[key] = self.quota.get(key, 0) + quota
        tokens = self.tokens
        tokens[model, "prompt"] = tokens.get((model, "prompt"), 0) + prompt
        tokens[model, "completion"] = tokens.get((model, "completion"), 0) + completion
