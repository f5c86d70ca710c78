"""Google Gemini (channel type 24): ``{base}/{version}/models/{model}:{action}``.

The version is the channel's config ``api_version``, else ``v1beta`` (system
instructions, tools and JSON schemas need it). Chat uses ``generateContent`` or
``streamGenerateContent?alt=sse``, embeddings ``batchEmbedContents``; the key goes in
``x-goog-api-key``. Gemini's embedding answers carry no token counts, so those are
counted locally.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.base import UpstreamRequest
from oneapi.relay.adapters.converting import VendorAdapter
from oneapi.relay.counting import count_prompt
from oneapi.relay.formats.events import TokenUsage, encode_json
from oneapi.relay.formats.gemini_upstream import (
    GeminiChatStream,
    chat_to_gemini,
    embeddings_from_gemini,
    embeddings_to_gemini,
    gemini_to_chat,
)
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "DEFAULT_VERSION", "GeminiAdapter", "gemini_version")

DEFAULT_VERSION = "v1beta"


def gemini_version(channel: CachedChannel) -> str:
    configured = channel.config.get("api_version")
    return configured.strip() if isinstance(configured, str) and configured.strip() else DEFAULT_VERSION


class GeminiAdapter(VendorAdapter):
    vendor = "Gemini"
    modes = frozenset({RelayMode.CHAT, RelayMode.EMBEDDINGS})
    # a prompt blocked by safety settings is answered with promptFeedback and no candidates
    answer_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        RelayMode.CHAT: ("candidates", "promptFeedback"), RelayMode.EMBEDDINGS: ("embeddings",)}
    hosted_tools = frozenset({"web_search"})  # Google Search grounding

    def model_url(self, channel: CachedChannel, model: str) -> str:
        return f"{self.base_url(channel)}/{gemini_version(channel)}/models/{model}"

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        if request.mode is RelayMode.EMBEDDINGS:
            return f"{self.model_url(channel, model)}:batchEmbedContents"
        action = "streamGenerateContent?alt=sse" if request.stream else "generateContent"
        return f"{self.model_url(channel, model)}:{action}"

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return {"x-goog-api-key": key, **self.json_headers(request)}

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        if request.mode is RelayMode.EMBEDDINGS:
            return encode_json(embeddings_to_gemini(request.document(), model))
        return encode_json(chat_to_gemini(request.document(), request.images))

    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        if request.mode is RelayMode.EMBEDDINGS:
            embeddings = embeddings_from_gemini(answer, model)
            tokens = count_prompt(request)
            embeddings["usage"] = TokenUsage(prompt_tokens=tokens).openai()
            return embeddings
        return gemini_to_chat(answer, model)

    def stream_converter(self, request: RelayRequest) -> GeminiChatStream:
        return GeminiChatStream(request.model, include_usage=request.client_wants_usage)

    def models_request(self, channel: CachedChannel, key: str) -> UpstreamRequest | None:
        return UpstreamRequest("GET", f"{self.base_url(channel)}/{gemini_version(channel)}/models",
                               {"x-goog-api-key": key}, None)


ADAPTER = GeminiAdapter()
