"""Replicate (channel type 46): synchronous predictions of official models.

``POST {base}/v1/models/{owner}/{name}/predictions`` with ``Prefer: wait``, so Replicate holds
the request until the prediction is done (up to a minute) and answers it whole: no second
request to poll. Chat and image generation are served; Replicate's streams need a second
connection to the prediction's stream URL, so a streamed chat request gets the finished
answer as chunks (:class:`~oneapi.relay.formats.whole.WholeAnswerStream`).
"""

from __future__ import annotations

from typing import Any

from oneapi.cache import CachedChannel
from oneapi.relay.adapters.converting import VendorAdapter
from oneapi.relay.formats.events import encode_json
from oneapi.relay.formats.replicate import (
    chat_to_replicate,
    image_to_replicate,
    replicate_to_chat,
    replicate_to_images,
)
from oneapi.relay.formats.whole import WholeAnswerStream
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("ADAPTER", "ReplicateAdapter")


class ReplicateAdapter(VendorAdapter):
    vendor = "Replicate"
    modes = frozenset({RelayMode.CHAT, RelayMode.IMAGES})

    def request_url(self, channel: CachedChannel, request: RelayRequest, model: str) -> str:
        return f"{self.base_url(channel)}/v1/models/{model}/predictions"

    def request_headers(self, channel: CachedChannel, key: str, request: RelayRequest) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Prefer": "wait"}

    def convert_request(self, channel: CachedChannel, request: RelayRequest, model: str) -> bytes:
        if request.mode is RelayMode.IMAGES:
            return encode_json(image_to_replicate(request.document()))
        return encode_json(chat_to_replicate(request.document()))

    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        if request.mode is RelayMode.IMAGES:
            return replicate_to_images(answer)
        return replicate_to_chat(answer, model)

    def is_stream(self, content_type: str) -> bool:
        return True  # a finished prediction is JSON; a streamed request gets it as chunks

    def stream_converter(self, request: RelayRequest) -> WholeAnswerStream:
        return WholeAnswerStream(request.model, lambda answer: self.to_openai(request, answer, request.model),
                                 include_usage=request.client_wants_usage)


ADAPTER = ReplicateAdapter()
