"""DeepL (channel type 38): chat requests translated with ``POST {base}/v2/translate``.

The key goes in ``Authorization: DeepL-Auth-Key``. The default endpoint is DeepL's free API,
as in one-api; a Pro key needs the base URL ``https://api.deepl.com``. DeepL cannot stream:
a streamed request gets the whole translation as one chunk
(:class:`~oneapi.relay.formats.whole.WholeAnswerStream`).
"""

from __future__ import annotations

from typing import Any

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.converting import VendorAdapter
from oneapi.relay.formats.deepl import chat_to_deepl, deepl_to_chat
from oneapi.relay.formats.events import encode_json
from oneapi.relay.formats.whole import WholeAnswerStream
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "DeepLAdapter")


class DeepLAdapter(VendorAdapter):
    vendor = "DeepL"
    modes = frozenset({RelayMode.CHAT})

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return f"{self.base_url(channel)}/v2/translate"

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return {"Authorization": f"DeepL-Auth-Key {key}", "Content-Type": "application/json"}

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        return encode_json(chat_to_deepl(request.document(), model))

    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        return deepl_to_chat(answer, request.document(), model)

    def is_stream(self, content_type: str) -> bool:
        return True  # DeepL answers JSON; a streamed request gets it as chunks

    def stream_converter(self, request: RelayRequest) -> WholeAnswerStream:
        return WholeAnswerStream(request.model, lambda answer: self.to_openai(request, answer, request.model),
                                 include_usage=request.client_wants_usage)


ADAPTER = DeepLAdapter()
