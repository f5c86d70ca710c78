"""DeepSeek (channel type 36): OpenAI's API, and its balance at ``GET {base}/user/balance``.

The balance answer lists one entry per currency; the USD one is reported when there is one.
"""

from __future__ import annotations

from oneapi.cache import CachedChannel
from oneapi.errors import UpstreamError
from oneapi.relay.adapters.account import get_json, number
from oneapi.relay.adapters.openai import OpenAIAdapter
from oneapi.relay.upstream import UpstreamTransport

__all__ = ("ADAPTER", "DeepSeekAdapter")


class DeepSeekAdapter(OpenAIAdapter):
    async def balance(self, client: UpstreamTransport, channel: CachedChannel, key: str) -> float:
        payload = await get_json(client, f"{self.base_url(channel)}/user/balance", self.auth_headers(key))
        infos = payload.get("balance_infos") if isinstance(payload, dict) else None
        if not isinstance(infos, list) or not infos:
            raise UpstreamError("the vendor's balance is missing")
        chosen = next((info for info in infos if info.get("currency") == "USD"), infos[0])
        return number(chosen.get("total_balance"), "balance")


ADAPTER = DeepSeekAdapter()
