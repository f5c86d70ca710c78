"""Cloudflare Workers AI (channel type 37): OpenAI's bodies at the account's ``/ai/v1`` endpoints.

URL ``{base}/client/v4/accounts/{account id}/ai/v1/{chat/completions|embeddings}``, the
account id being the channel config's ``user_id`` as one-api stores it. A base URL that is
a Cloudflare AI Gateway (``https://gateway.ai.cloudflare.com/v1/{account}/{gateway}/workers-ai``)
already names the account, so the path follows it directly. The key (an API token) goes in
``Authorization: Bearer``; models are Workers AI names such as ``@cf/meta/llama-3.1-8b-instruct``.
"""

from __future__ import annotations

from oneapi.cache import CachedChannel
from oneapi.errors import UpstreamError
from oneapi.relay.adapters.base import UpstreamRequest
from oneapi.relay.adapters.openai import OpenAIAdapter
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "CloudflareAdapter")


class CloudflareAdapter(OpenAIAdapter):
    modes = frozenset({RelayMode.CHAT, RelayMode.EMBEDDINGS})

    def api_base(self, channel: CachedChannel) -> str:
        base = self.base_url(channel)
        if base.startswith("https://gateway.ai.cloudflare.com") and base.endswith("/workers-ai"):
            return base
        account = channel.config.get("user_id")
        if not isinstance(account, str) or not account.strip():
            raise UpstreamError(f"channel #{channel.id} (Cloudflare) needs the account id as user_id "
                                "in its config", code="invalid_channel_key")
        return f"{base}/client/v4/accounts/{account.strip()}/ai"

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return f"{self.api_base(channel)}/v1/{request.mode.value}"

    def models_request(self, channel: CachedChannel, key: str) -> UpstreamRequest | None:
        return None  # the model catalogue is a separate, paginated API


ADAPTER = CloudflareAdapter()
