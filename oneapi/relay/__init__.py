"""The relay: OpenAI-compatible ``/v1`` routes over the configured channels.

:func:`install_relay` adds the relay's components to a runtime. They are reachable from
``runtime.state``: ``"writer"`` (:class:`~oneapi.db.writer.BatchWriter`; ``await
runtime.state["writer"].flush()`` writes pending logs and quota now), ``"cache"``,
``"upstream"``, ``"responses"`` (stored Responses API answers) and ``"relay"``. The quota
reminder email (:mod:`oneapi.billing.reminder`) hears the relay's settlements.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oneapi.runtime import Runtime

__all__ = ("install_relay",)


def install_relay(runtime: Runtime) -> None:
    """Register writer (first, so it stops last and flushes), cache and upstream client."""
    from oneapi.billing.reminder import QuotaReminder
    from oneapi.cache import RelayCache
    from oneapi.db.writer import BatchWriter
    from oneapi.relay.responses_store import ResponseStore
    from oneapi.relay.service import Relay
    from oneapi.relay.upstream import AiohttpTransport

    writer = BatchWriter(runtime.settings.batch_update_interval)
    cache = RelayCache(writer)
    upstream = AiohttpTransport()
    runtime.components.insert(0, writer)
    responses = ResponseStore()
    reminder = QuotaReminder()
    runtime.components.extend([cache, upstream, responses, reminder])
    max_body = runtime.settings.max_request_body_mb * 1024 * 1024
    relay = Relay(cache, writer, upstream, max_body, responses)
    relay.ledger.on_settled = reminder.settled
    runtime.state.update(writer=writer, cache=cache, upstream=upstream, responses=responses, relay=relay)
