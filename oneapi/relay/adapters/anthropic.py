"""Anthropic Messages API (channel type 14): ``POST {base}/v1/messages``.

The key goes in ``x-api-key`` with ``anthropic-version``; requests and answers are
converted by :mod:`oneapi.relay.formats.anthropic_upstream`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.base import ConvertedResponse, UpstreamRequest
from oneapi.relay.adapters.converting import VendorAdapter
from oneapi.relay.formats.anthropic_upstream import (
    ANTHROPIC_VERSION,
    AnthropicChatStream,
    anthropic_usage,
    chat_to_anthropic,
    message_to_chat,
    needs_json_tool,
)
from oneapi.relay.formats.events import decode_json, encode_json
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "AnthropicAdapter", "anthropic_answer")


def anthropic_answer(body: bytes, content_type: str) -> ConvertedResponse:
    """An Anthropic Messages answer passed back untouched, with its usage read (for hosts of Claude)."""
    try:
        answer = decode_json(body)
    except msgspec.DecodeError:
        answer = None
    if isinstance(answer, dict) and "usage" in answer:
        return ConvertedResponse(body, content_type, anthropic_usage(answer["usage"]))
    return ConvertedResponse(body, content_type, None)


class AnthropicAdapter(VendorAdapter):
    vendor = "Anthropic"
    modes = frozenset({RelayMode.CHAT})
    answer_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {RelayMode.CHAT: ("content",)}
    hosted_tools = frozenset({"web_search"})  # the web-search server tool

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return f"{self.base_url(channel)}/v1/messages"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION}

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return {**self.auth_headers(key), **self.json_headers(request)}

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        return encode_json(chat_to_anthropic(request.document(), model, request.images).body)

    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        return message_to_chat(answer, json_tool=needs_json_tool(request.document()))

    def stream_converter(self, request: RelayRequest) -> AnthropicChatStream:
        return AnthropicChatStream(request.model, include_usage=request.client_wants_usage,
                                   json_tool=needs_json_tool(request.document()))

    def models_request(self, channel: CachedChannel, key: str) -> UpstreamRequest | None:
        return UpstreamRequest("GET", f"{self.base_url(channel)}/v1/models", self.auth_headers(key), None)


ADAPTER = AnthropicAdapter()
