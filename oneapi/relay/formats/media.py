"""Images in OpenAI messages, made inline for vendors that take only base64 data.

OpenAI clients send ``image_url`` parts holding either a ``data:`` URL or a remote
``https://`` URL. Anthropic, Gemini and Ollama want the bytes, so remote images are
fetched by the gateway first (:func:`fetch_images`, bounded in size and time) and the
synchronous converters then read them from the resulting mapping.
"""

from __future__ import annotations

import asyncio
import base64
import mimetypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from oneapi.errors import InvalidRequest

__all__ = ("MAX_IMAGE_BYTES", "InlineImage", "fetch_images", "image_url_of", "inline_image", "remote_image_urls")

MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_FETCH_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class InlineImage:
    media_type: str
    data: str  # base64

    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{self.data}"


def image_url_of(part: Mapping[str, Any]) -> str:
    """The URL of an OpenAI ``image_url`` part (object or bare string form)."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise InvalidRequest("an image_url part has no url", param="messages", code="invalid_image_url")
    return url


def _parse_data_url(url: str) -> InlineImage:
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        raise InvalidRequest("image data URLs must be base64 encoded (data:<type>;base64,...)",
                             param="messages", code="invalid_image_url")
    return InlineImage(header[: -len(";base64")] or "image/png", data.strip())


def inline_image(url: str, fetched: Mapping[str, InlineImage]) -> InlineImage:
    """The image at ``url``: decoded from a data URL, or looked up among fetched ones."""
    if url.startswith("data:"):
        return _parse_data_url(url)
    image = fetched.get(url)
    if image is None:
        raise InvalidRequest(f"the image {url[:200]} could not be loaded", param="messages",
                             code="invalid_image_url")
    return image


def remote_image_urls(messages: Iterable[Any]) -> list[str]:
    """Remote (non-data) image URLs in OpenAI chat messages, in order, without repeats."""
    urls: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for part in content:
            if isinstance(part, dict) and part.get("type") == "image_url":
                url = image_url_of(part)
                if not url.startswith("data:") and url not in urls:
                    urls.append(url)
    return urls


async def _fetch(client: httpx.AsyncClient, url: str, max_bytes: int) -> InlineImage:
    if not url.startswith(("http://", "https://")):
        raise InvalidRequest(f"unsupported image URL scheme in {url[:100]}", param="messages",
                             code="invalid_image_url")
    received = bytearray()
    try:
        async with client.stream("GET", url, timeout=IMAGE_FETCH_TIMEOUT, follow_redirects=True) as response:
            if response.status_code != 200:
                raise InvalidRequest(f"fetching the image {url[:200]} failed with HTTP {response.status_code}",
                                     param="messages", code="invalid_image_url")
            async for piece in response.aiter_bytes():
                received += piece
                if len(received) > max_bytes:
                    raise InvalidRequest(f"the image {url[:200]} is larger than {max_bytes // 1048576} MiB",
                                         param="messages", code="image_too_large")
            media_type = response.headers.get("content-type", "").split(";")[0].strip()
    except httpx.HTTPError as exc:
        raise InvalidRequest(f"fetching the image {url[:200]} failed: {type(exc).__name__}",
                             param="messages", code="invalid_image_url") from None
    if not media_type.startswith("image/"):
        media_type = mimetypes.guess_type(url.split("?")[0])[0] or "image/png"
    return InlineImage(media_type, base64.b64encode(bytes(received)).decode())


async def fetch_images(client: httpx.AsyncClient, urls: Iterable[str], *,
                       max_bytes: int = MAX_IMAGE_BYTES) -> dict[str, InlineImage]:
    """Download remote images concurrently; any failure is the client's 400."""
    wanted = list(urls)
    images = await asyncio.gather(*(_fetch(client, url, max_bytes) for url in wanted))
    return dict(zip(wanted, images, strict=True))
