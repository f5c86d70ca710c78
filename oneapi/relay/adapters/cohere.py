"""Cohere (channel type 35): the v2 API for chat, embeddings and rerank.

``POST {base}/v2/chat`` (SSE streams), ``/v2/embed`` and ``/v2/rerank``, the key in
``Authorization: Bearer``. Chat and embeddings are converted by
:mod:`oneapi.relay.formats.cohere`; rerank requests and answers are already in the shape
``/v1/rerank`` speaks (it is Cohere's), so they pass through with the model swapped in.
"""

from __future__ import annotations

from typing import Any

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.base import ConvertedResponse, UpstreamRequest
from oneapi.relay.adapters.converting import VendorAdapter
from oneapi.relay.formats.cohere import (
    CohereChatStream,
    chat_to_cohere,
    cohere_to_chat,
    embeddings_from_cohere,
    embeddings_to_cohere,
)
from oneapi.relay.formats.events import decode_json, encode_json
from oneapi.relay.formats.rerank import check_rerank_request, rerank_usage
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "CohereAdapter")

_PATHS = {RelayMode.CHAT: "chat", RelayMode.EMBEDDINGS: "embed", RelayMode.RERANK: "rerank"}


class CohereAdapter(VendorAdapter):
    vendor = "Cohere"
    modes = frozenset(_PATHS)

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return f"{self.base_url(channel)}/v2/{_PATHS[request.mode]}"

    @staticmethod
    def auth_headers(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return {**self.auth_headers(key), **self.json_headers(request)}

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        document = request.document()
        if request.mode is RelayMode.EMBEDDINGS:
            return encode_json(embeddings_to_cohere(document, model))
        if request.mode is RelayMode.RERANK:
            check_rerank_request(document)
            return encode_json({**document, "model": model})
        return encode_json(chat_to_cohere(document, model))

    def convert_response(self, request: RelayRequest, body: bytes, content_type: str) -> ConvertedResponse:
        if request.mode is RelayMode.RERANK:
            answer = decode_json(body) if content_type.startswith("application/json") else None
            usage = rerank_usage(answer) if isinstance(answer, dict) else None
            return ConvertedResponse(body, content_type, usage)
        return super().convert_response(request, body, content_type)

    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        if request.mode is RelayMode.EMBEDDINGS:
            return embeddings_from_cohere(answer, model)
        return cohere_to_chat(answer, model)

    def stream_converter(self, request: RelayRequest) -> CohereChatStream:
        return CohereChatStream(request.model, include_usage=request.client_wants_usage)

    def models_request(self, channel: CachedChannel, key: str) -> UpstreamRequest | None:
        return UpstreamRequest("GET", f"{self.base_url(channel)}/v1/models", self.auth_headers(key), None)


ADAPTER = CohereAdapter()
