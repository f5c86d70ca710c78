"""AIProxy Library (channel type 21): questions to an AIProxy knowledge base.

``POST {base}/api/library/ask`` with the key as a bearer token; the library is the channel
config's ``library_id``, else its legacy ``other`` column, as one-api stores it.
"""

from __future__ import annotations

from typing import Any

from oneapi.cache import CachedChannel
from oneapi.errors import UpstreamError
from oneapi.relay.adapters.converting import VendorAdapter
from oneapi.relay.formats.aiproxy_library import LibraryChatStream, chat_to_library, library_to_chat
from oneapi.relay.formats.events import encode_json
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "LibraryAdapter")


class LibraryAdapter(VendorAdapter):
    vendor = "AIProxy Library"
    modes = frozenset({RelayMode.CHAT})

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return f"{self.base_url(channel)}/api/library/ask"

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", **self.json_headers(request)}

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        library = channel.config.get("library_id") or channel.other.strip()
        if not isinstance(library, str) or not library:
            raise UpstreamError(f"channel #{channel.id} (AIProxy Library) needs library_id in its config",
                                code="invalid_channel_key")
        return encode_json(chat_to_library(request.document(), model, library))

    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        return library_to_chat(answer, model)

    def stream_converter(self, request: RelayRequest) -> LibraryChatStream:
        return LibraryChatStream(request.model, include_usage=request.client_wants_usage)


ADAPTER = LibraryAdapter()
