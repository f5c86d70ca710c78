"""Azure OpenAI (channel type 3): OpenAI's bodies at deployment URLs (reference §2.2).

URL ``{base}/openai/deployments/{deployment}/{path}?api-version={version}``, where the
deployment is the (mapped) model name without dots, as Azure's portal names them
(gpt-3.5-turbo -> gpt-35-turbo); map the model when a deployment is named otherwise. The
version comes from the channel's config ``api_version``, then its legacy ``other``
column. The key goes in ``api-key``. Azure's content-filter chunks with no choices are
dropped from streams.
"""

from __future__ import annotations

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.openai import OpenAIAdapter
from oneapi.relay.request import RelayMode, RelayRequest
from oneapi.relay.sse import OpenAIEventStream

__all__ = ("ADAPTER", "DEFAULT_API_VERSION", "AzureAdapter")

DEFAULT_API_VERSION = "2024-10-21"


def api_version(channel: CachedChannel) -> str:
    configured = channel.config.get("api_version")
    if isinstance(configured, str) and configured.strip():
        return configured.strip()
    return channel.other.strip() or DEFAULT_API_VERSION


class AzureAdapter(OpenAIAdapter):
    modes = frozenset(RelayMode) - {RelayMode.RERANK}
    hosted_tools = frozenset()  # Azure's chat deployments have no web_search_options

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        base = self.base_url(channel)
        version = api_version(channel)
        if request.mode is RelayMode.RESPONSES:
            return f"{base}/openai/responses?api-version={version}"
        deployment = model.replace(".", "")
        return f"{base}/openai/deployments/{deployment}/{request.mode.value}?api-version={version}"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"api-key": key}

    def stream_converter(self, request: RelayRequest) -> OpenAIEventStream:
        return OpenAIEventStream(hide_usage_chunk=request.hides_usage_chunk, drop_empty_choices=True)

    def models_request(self, channel: CachedChannel, key: str) -> None:
        return None  # deployments are listed through Azure's management API, not the data plane


ADAPTER = AzureAdapter()
