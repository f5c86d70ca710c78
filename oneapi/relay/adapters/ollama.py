"""Ollama (channel type 30): ``{base}/api/chat`` (NDJSON streams) and ``{base}/api/embed``.

A key, when the channel has one (Ollama behind a proxy), goes in ``Authorization:
Bearer``. Usage comes from ``prompt_eval_count``/``eval_count``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.base import UpstreamRequest
from oneapi.relay.adapters.converting import VendorAdapter
from oneapi.relay.formats.events import decode_json, encode_json
from oneapi.relay.formats.ollama import (
    OllamaChatStream,
    chat_to_ollama,
    embeddings_from_ollama,
    embeddings_to_ollama,
    ollama_to_chat,
)
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "OllamaAdapter")


class OllamaAdapter(VendorAdapter):
    vendor = "Ollama"
    modes = frozenset({RelayMode.CHAT, RelayMode.EMBEDDINGS})
    answer_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {
        RelayMode.CHAT: ("message",), RelayMode.EMBEDDINGS: ("embeddings",)}

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        path = "embed" if request.mode is RelayMode.EMBEDDINGS else "chat"
        return f"{self.base_url(channel)}/api/{path}"

    @staticmethod
    def auth_headers(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return {**self.auth_headers(key), "Content-Type": "application/json"}

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        if request.mode is RelayMode.EMBEDDINGS:
            return encode_json(embeddings_to_ollama(request.document(), model))
        return encode_json(chat_to_ollama(request.document(), model, request.images))

    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        if request.mode is RelayMode.EMBEDDINGS:
            return embeddings_from_ollama(answer, model)[0]
        return ollama_to_chat(answer, model)

    def is_stream(self, content_type: str) -> bool:
        return "ndjson" in content_type or "event-stream" in content_type

    def stream_problem(self, content_type: str, first: bytes) -> str | None:
        """Ollama streams NDJSON: the first line is a chunk object, or ``{"error": ...}``."""
        line = first.lstrip().split(b"\n", 1)[0]
        if not line.startswith(b"{"):
            return "a stream that is not NDJSON" if line else "an empty stream"
        try:
            chunk = decode_json(line)
        except msgspec.DecodeError:
            return None  # a line cut by the chunk boundary
        return f"an error: {chunk['error']}" if isinstance(chunk, dict) and chunk.get("error") else None

    def stream_converter(self, request: RelayRequest) -> OllamaChatStream:
        return OllamaChatStream(request.model, include_usage=request.client_wants_usage)

    def models_request(self, channel: CachedChannel, key: str) -> UpstreamRequest | None:
        return UpstreamRequest("GET", f"{self.base_url(channel)}/api/tags", self.auth_headers(key), None)


ADAPTER = OllamaAdapter()
