"""SiliconFlow (channel type 44): OpenAI's API, and its balance at ``GET {base}/v1/user/info``."""

from __future__ import annotations

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.account import get_json, number
from oneapi.relay.adapters.openai import OpenAIAdapter
from oneapi.relay.upstream import UpstreamTransport

__all__ = ("ADAPTER", "SiliconFlowAdapter")


class SiliconFlowAdapter(OpenAIAdapter):
    async def balance(self, client: UpstreamTransport, channel: CachedChannel, key: str) -> float:
        payload = await get_json(client, f"{self.base_url(channel)}/v1/user/info", self.auth_headers(key))
        return number(((payload or {}).get("data") or {}).get("totalBalance"), "balance")


ADAPTER = SiliconFlowAdapter()
