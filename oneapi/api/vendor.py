"""Asking a channel's vendor about the account: its model list and its balance.

Both go through the relay's upstream client (the process's shared one when it runs).
Balances are read where the vendor exposes them, as one-api does: OpenAI-style
dashboards (OpenAI, custom OpenAI-compatible), DeepSeek, OpenRouter and SiliconFlow.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from oneapi.cache import CachedChannel
from oneapi.errors import InvalidRequest, UpstreamError
from oneapi.relay.adapters import adapter_for
from oneapi.relay.upstream import UpstreamClient
from oneapi.security import mask_secrets

if TYPE_CHECKING:
    from oneapi.runtime import Runtime

__all__ = ("BALANCE_TYPES", "fetch_models", "query_balance", "upstream_client")

_OPENAI_DASHBOARD = (1, 8)
_DEEPSEEK, _OPENROUTER, _SILICONFLOW = 36, 20, 44
BALANCE_TYPES = frozenset((*_OPENAI_DASHBOARD, _DEEPSEEK, _OPENROUTER, _SILICONFLOW))


@asynccontextmanager
async def upstream_client(runtime: Runtime) -> AsyncIterator[UpstreamClient]:
    """The shared upstream client, or a short-lived one when the relay is not running."""
    shared = runtime.state.get("upstream")
    if isinstance(shared, UpstreamClient) and shared.started:
        yield shared
        return
    own = UpstreamClient()
    own.open(runtime.settings)
    try:
        yield own
    finally:
        await own.stop()


async def _json(client: UpstreamClient, url: str, headers: dict[str, str], key: str) -> Any:
    """GET ``url`` and decode its JSON; an HTTP error becomes the vendor's words, ``key`` masked."""
    response = await client.send("GET", url, {**headers, "Accept": "application/json"}, None)
    body = await response.read()
    if response.status >= 400:
        excerpt = mask_secrets(body[:200].decode(errors="replace"), (key,))
        raise UpstreamError(f"the vendor answered HTTP {response.status}: {excerpt}")
    try:
        return json.loads(body)
    except ValueError:
        raise UpstreamError("the vendor's answer is not JSON") from None


async def _get_json(client: UpstreamClient, url: str, key: str) -> Any:
    return await _json(client, url, {"Authorization": f"Bearer {key}"}, key)


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
    key = channel.keys[0] if channel.keys else ""
    request = adapter.models_request(channel, key) if adapter else None
    if request is None:
        raise InvalidRequest(f"channel type {channel.kind.name} has no model list this gateway can read")
    async with upstream_client(runtime) as client:
        return _model_ids(await _json(client, request.url, request.headers, key))


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UpstreamError(f"the vendor's {what} is missing or not a number") from None


async def query_balance(runtime: Runtime, channel: CachedChannel) -> float:
    """The account's remaining balance (USD, or the vendor's own currency)."""
    if channel.type not in BALANCE_TYPES:
        raise InvalidRequest(f"channel type {channel.kind.name} does not report a balance")
    base = (channel.base_url or channel.kind.base_url).rstrip("/")
    key = channel.keys[0] if channel.keys else ""
    async with upstream_client(runtime) as client:
        if channel.type == _DEEPSEEK:
            payload = await _get_json(client, f"{base}/user/balance", key)
            infos = payload.get("balance_infos") if isinstance(payload, dict) else None
            if not isinstance(infos, list) or not infos:
                raise UpstreamError("the vendor's balance is missing")
            chosen = next((info for info in infos if info.get("currency") == "USD"), infos[0])
            return _number(chosen.get("total_balance"), "balance")
        if channel.type == _OPENROUTER:
            data = (await _get_json(client, f"{base}/v1/credits", key) or {}).get("data") or {}
            used = _number(data.get("total_usage", 0), "usage")
            return _number(data.get("total_credits"), "credits") - used
        if channel.type == _SILICONFLOW:
            data = (await _get_json(client, f"{base}/v1/user/info", key) or {}).get("data") or {}
            return _number(data.get("totalBalance"), "balance")
        subscription = await _get_json(client, f"{base}/v1/dashboard/billing/subscription", key)
        today = dt.datetime.now(dt.UTC).date()
        start, end = today - dt.timedelta(days=100), today + dt.timedelta(days=1)
        usage_url = f"{base}/v1/dashboard/billing/usage?start_date={start}&end_date={end}"
        usage = await _get_json(client, usage_url, key)
        limit = _number((subscription or {}).get("hard_limit_usd"), "hard_limit_usd")
        return limit - _number((usage or {}).get("total_usage", 0), "total_usage") / 100
