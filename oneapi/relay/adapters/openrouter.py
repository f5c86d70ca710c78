"""OpenRouter (channel type 20): OpenAI's API, and its credits at ``GET {base}/v1/credits``.

The balance is the credits bought less the credits used.
"""

from __future__ import annotations

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.account import get_json, number
from oneapi.relay.adapters.openai import OpenAIAdapter
from oneapi.relay.upstream import UpstreamTransport

__all__ = ("ADAPTER", "OpenRouterAdapter")


class OpenRouterAdapter(OpenAIAdapter):
    async def balance(self, client: UpstreamTransport, channel: CachedChannel, key: str) -> float:
        payload = await get_json(client, f"{self.base_url(channel)}/v1/credits", self.auth_headers(key))
        data = (payload or {}).get("data") or {}
        return number(data.get("total_credits"), "credits") - number(data.get("total_usage", 0), "usage")


ADAPTER = OpenRouterAdapter()
