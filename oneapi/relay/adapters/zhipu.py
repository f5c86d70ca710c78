"""Zhipu BigModel v4 (channel type 16): OpenAI's bodies under ``{base}/api/paas/v4/``.

The only difference from OpenAI is the credential: a JWT signed from the channel's
``id.secret`` key (:mod:`oneapi.relay.zhipu_auth`), sent without ``Bearer``.
"""

from __future__ import annotations

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.base import UpstreamRequest
from oneapi.relay.adapters.openai import OpenAIAdapter
from oneapi.relay.request import RelayMode, RelayRequest
from oneapi.relay.zhipu_auth import ZhipuTokens

__all__ = ("ADAPTER", "ZhipuAdapter")


class ZhipuAdapter(OpenAIAdapter):
    modes = frozenset({RelayMode.CHAT, RelayMode.EMBEDDINGS, RelayMode.IMAGES})

    def __init__(self) -> None:
        self._tokens = ZhipuTokens()

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return f"{self.base_url(channel)}/api/paas/v4/{request.mode.value}"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": self._tokens.token(key)}

    def models_request(self, channel: CachedChannel, key: str) -> UpstreamRequest | None:
        return None  # Zhipu publishes no model-list endpoint


ADAPTER = ZhipuAdapter()
