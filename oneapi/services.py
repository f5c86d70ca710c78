"""What one app runs on, built once from its settings: :class:`Services`.

The app factory (:func:`oneapi.server.create_app`) calls :func:`build_services` with the
settings it was given, and hands the result to the runtime and, through it, to every route.
Each part is given what it needs when it is built (the batch writer its database, the cache
its database and writer, the ledger the Redis counters, ...), so nothing below the factory
reads the environment, and two apps in one process share nothing: each has its own
database, cache, upstream client, Redis connection and metrics registry.

The runtime starts the parts that are components after the ones they hold (a part's
attributes), and stops them in the reverse order (:func:`oneapi.runtime.start_order`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from oneapi.billing.ledger import Ledger
from oneapi.billing.reminder import QuotaReminder
from oneapi.cache import RelayCache
from oneapi.config import Settings
from oneapi.db.engine import Database
from oneapi.db.writer import BatchWriter
from oneapi.metrics import Metrics
from oneapi.relay.responses_store import ResponseStore
from oneapi.relay.service import Relay
from oneapi.relay.token_limits import RateLimits
from oneapi.relay.upstream import AiohttpTransport, UpstreamTransport
from oneapi.retention import LogRetention

if TYPE_CHECKING:
    from oneapi.billing.counters import QuotaCounters
    from oneapi.redis_state import SharedState
    from oneapi.runtime import Component

__all__ = ("Services", "build_services")


@dataclass(eq=False)
class Services:
    """One app's long-lived parts; ``shared`` and ``counters`` only with ``REDIS_CONN_STRING``."""

    settings: Settings
    database: Database
    writer: BatchWriter
    cache: RelayCache
    upstream: UpstreamTransport
    responses: ResponseStore
    reminder: QuotaReminder
    retention: LogRetention
    metrics: Metrics
    relay: Relay
    shared: SharedState | None = None
    counters: QuotaCounters | None = None

    @property
    def components(self) -> list[Component]:
        """The parts the runtime starts and stops."""
        parts: list[Component | None] = [self.database, self.writer, self.shared, self.counters, self.cache,
                                         self.upstream, self.responses, self.reminder, self.retention]
        return [part for part in parts if part is not None]


def build_services(settings: Settings) -> Services:
    """Everything an app runs on, from ``settings`` alone; nothing is opened until it starts."""
    database = Database(settings)
    writer = BatchWriter(database, settings.batch_update_interval)
    cache = RelayCache(database, writer)
    shared, counters = _replicas(settings, cache)
    upstream = AiohttpTransport()
    responses = ResponseStore(database)
    reminder = QuotaReminder(database)
    metrics = Metrics()
    metrics.watch(cache, writer, shared)
    ledger = Ledger(writer, counters, on_settled=reminder.settled)
    relay = Relay(cache, upstream, ledger, RateLimits(shared), metrics, responses,
                  max_body_bytes=settings.max_request_body_mb * 1024 * 1024,
                  allow_private_images=settings.allow_private_image_urls)
    return Services(settings=settings, database=database, writer=writer, cache=cache, upstream=upstream,
                    responses=responses, reminder=reminder, retention=LogRetention(database, shared),
                    metrics=metrics, relay=relay, shared=shared, counters=counters)


def _replicas(settings: Settings, cache: RelayCache) -> tuple[SharedState | None, QuotaCounters | None]:
    """With ``REDIS_CONN_STRING``: the Redis state replicas share and the quota counters kept in it."""
    if not settings.redis_conn_string:
        return None, None
    from oneapi.billing.counters import QuotaCounters, idle_expiry
    from oneapi.redis_state import SharedState

    shared = SharedState(settings.redis_conn_string, settings.redis_key_prefix, settings.redis_timeout)
    counters = QuotaCounters(shared, idle_expiry(settings.sync_frequency, settings.batch_update_interval))
    shared.on_resync(cache.reload)
    shared.on_resync(counters.clear)  # after the reload: counters re-seed from fresh caches
    return shared, counters

