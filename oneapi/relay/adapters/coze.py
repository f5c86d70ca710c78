"""Coze (channel type 34): bots at ``POST {base}/open_api/v2/chat``, the key as a bearer token.

The ``user`` Coze asks for is the channel config's ``user_id`` as one-api stores it
(``one-api`` when unset); conversions live in :mod:`oneapi.relay.formats.coze`.
"""

from __future__ import annotations

from typing import Any

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.converting import VendorAdapter
from oneapi.relay.formats.coze import CozeChatStream, chat_to_coze, coze_to_chat
from oneapi.relay.formats.events import encode_json
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "CozeAdapter")


class CozeAdapter(VendorAdapter):
    vendor = "Coze"
    modes = frozenset({RelayMode.CHAT})

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return f"{self.base_url(channel)}/open_api/v2/chat"

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", **self.json_headers(request)}

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        user = channel.config.get("user_id")
        return encode_json(chat_to_coze(request.document(), model, user if isinstance(user, str) and user
                                        else "one-api"))

    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        return coze_to_chat(answer, model)

    def stream_converter(self, request: RelayRequest) -> CozeChatStream:
        return CozeChatStream(request.model, include_usage=request.client_wants_usage)


ADAPTER = CozeAdapter()
