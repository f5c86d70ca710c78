"""Asking a channel's vendor about the account: its model list and its balance.

Both go through the app's upstream client (a short-lived one when the runtime has not started it).
Balances are read by the channel's adapter where the vendor exposes them, as one-api does
(``ChannelType.balance``): OpenAI-style dashboards (OpenAI, custom OpenAI-compatible),
DeepSeek, OpenRouter and SiliconFlow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from oneapi.cache import CachedChannel
from oneapi.channel_types import CHANNEL_TYPES
from oneapi.errors import InvalidRequest
from oneapi.relay.adapters import adapter_for
from oneapi.relay.adapters.account import get_json
from oneapi.relay.upstream import AiohttpTransport, UpstreamTransport

if TYPE_CHECKING:
    from oneapi.runtime import Runtime

__all__ = ("BALANCE_TYPES", "fetch_models", "query_balance", "upstream_client")

BALANCE_TYPES = frozenset(kind.id for kind in CHANNEL_TYPES.values() if kind.balance)


@asynccontextmanager
async def upstream_client(runtime: Runtime) -> AsyncIterator[UpstreamTransport]:
    """The app's upstream client, or a short-lived one when the runtime has not started it."""
    shared = runtime.services.upstream
    if shared.started:
        yield shared
        return
    own = AiohttpTransport()
    own.open(runtime.settings)
    try:
        yield own
    finally:
        await own.stop()


def _model_ids(payload: Any) -> list[str]:
    """Model ids from OpenAI's ``{"data": [{"id"}]}`` or Gemini/Ollama's ``{"models": [{"name"}]}``."""
    items: list[Any] = []
    if isinstance(payload, dict):
        items = payload.get("data") or payload.get("models") or []
    names = set()
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            name = item.get("id") or item.get("name")
            if isinstance(name, str) and name:
                names.add(name.removeprefix("models/"))
    return sorted(names)


async def fetch_models(runtime: Runtime, channel: CachedChannel) -> list[str]:
    """The models the vendor lists for this channel's key."""
    adapter = adapter_for(channel.kind.api_format)
    request = adapter.models_request(channel, channel.keys[0] if channel.keys else "") if adapter else None
    if request is None:
        raise InvalidRequest(f"channel type {channel.kind.name} has no model list this gateway can read")
    async with upstream_client(runtime) as client:
        return _model_ids(await get_json(client, request.url, request.headers))


async def query_balance(runtime: Runtime, channel: CachedChannel) -> float:
    """The account's remaining balance (USD, or the vendor's own currency), as its adapter reads it."""
    adapter = adapter_for(channel.kind.api_format)
    if not channel.kind.balance or adapter is None:
        raise InvalidRequest(f"channel type {channel.kind.name} does not report a balance")
    async with upstream_client(runtime) as client:
        return await adapter.balance(client, channel, channel.keys[0] if channel.keys else "")
