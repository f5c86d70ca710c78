"""What the adapters of non-OpenAI vendors share: base URL, remote images, JSON answers.

Each such vendor converts OpenAI chat requests to its own format and its answers back
(``oneapi.relay.formats``); the converted answer is a ``chat.completion`` whose usage
came from the vendor's own fields, so billing reads it the same way for everyone.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import httpx
import msgspec

from oneapi.errors import UpstreamError
from oneapi.relay.adapters.base import Adapter, ConvertedResponse
from oneapi.relay.counting import count_usage
from oneapi.relay.formats.events import TokenUsage, decode_json, encode_json
from oneapi.relay.formats.media import fetch_images, remote_image_urls
from oneapi.relay.request import RelayMode, RelayRequest

__all__ = ("VendorAdapter",)


class VendorAdapter(Adapter):
    """An adapter whose vendor speaks its own JSON format."""

    #: the vendor's name, as error messages show it
    vendor: str

    async def prepare(self, request: RelayRequest, *, allow_private_images: bool) -> None:
        """Fetch remote images once: these vendors take image bytes, not URLs."""
        if request.mode is not RelayMode.CHAT or request.images:
            return
        urls = remote_image_urls(request.document().get("messages") or ())
        if urls:
            async with httpx.AsyncClient() as client:
                request.images = await fetch_images(client, urls, allow_private=allow_private_images)

    @abstractmethod
    def to_openai(self, request: RelayRequest, answer: dict[str, Any], model: str) -> dict[str, Any]:
        """The vendor's decoded answer in OpenAI's shape (with its usage)."""

    def convert_response(self, request: RelayRequest, body: bytes, content_type: str) -> ConvertedResponse:
        try:
            answer = decode_json(body)
        except msgspec.DecodeError:
            raise UpstreamError(f"{self.vendor} answered with a body that is not JSON") from None
        if not isinstance(answer, dict):
            raise UpstreamError(f"{self.vendor} answered with an unexpected body")
        converted = self.to_openai(request, answer, request.model)
        usage = TokenUsage.from_openai(converted.get("usage"))
        if usage is None and request.mode is RelayMode.CHAT:  # vendors without usage (Coze): counted here
            usage = count_usage(request, encode_json(converted), "application/json")
            converted["usage"] = usage.openai()
        return ConvertedResponse(encode_json(converted), "application/json", usage)

    @staticmethod
    def json_headers(request: RelayRequest) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if request.stream:
            headers["Accept"] = "text/event-stream"
        return headers
