"""Images in OpenAI messages, made inline for vendors that take only base64 data.

OpenAI clients send ``image_url`` parts holding either a ``data:`` URL or a remote
``https://`` URL. Anthropic, Gemini and Ollama want the bytes, so remote images are
fetched by the gateway first (:func:`fetch_images`, bounded in size and time) and the
synchronous converters then read them from the resulting mapping.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import mimetypes
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oneapi.errors import InvalidRequest, UnsupportedFeature

if TYPE_CHECKING:
    import httpx

__all__ = ("MAX_IMAGE_BYTES", "InlineImage", "fetch_images", "file_part", "image_url_of", "inline_file",
           "inline_image", "remote_image_urls")

MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_FETCH_TIMEOUT = 15.0
_MAX_REDIRECTS = 5


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


def file_part(media_type: str, data: str, filename: str) -> dict[str, Any]:
    """An OpenAI chat ``file`` part holding a document (PDF) as base64 data."""
    return {"type": "file", "file": {"filename": filename, "file_data": f"data:{media_type};base64,{data}"}}


def inline_file(part: Mapping[str, Any], vendor: str) -> InlineImage:
    """The bytes of a chat ``file`` part; a ``file_id`` (OpenAI's Files API) reaches only OpenAI."""
    data = (part.get("file") or {}).get("file_data")
    if not isinstance(data, str) or not data.startswith("data:"):
        raise UnsupportedFeature(f"{vendor} takes documents as base64 data only, not OpenAI file ids",
                                 param="messages")
    return _parse_data_url(data)


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


async def _fetch(client: httpx.AsyncClient, url: str, max_bytes: int, allow_private: bool) -> InlineImage:
    import httpx  # here, not at the top: the formats that inline images load without it

    try:
        request = client.build_request("GET", _checked_url(url), timeout=IMAGE_FETCH_TIMEOUT)
        for _hop in range(_MAX_REDIRECTS + 1):
            if not allow_private:
                await _require_public_host(request.url)
            response = await client.send(request, stream=True)
            try:
                if not allow_private:
                    _require_public_peer(response)
                if response.next_request is None:
                    return await _read_image(response, url, max_bytes)
                request = response.next_request  # a redirect: checked before it is followed
            finally:
                await response.aclose()
    except httpx.HTTPError as exc:
        raise InvalidRequest(f"fetching the image {url[:200]} failed: {type(exc).__name__}",
                             param="messages", code="invalid_image_url") from None
    raise InvalidRequest(f"fetching the image {url[:200]} took more than {_MAX_REDIRECTS} redirects",
                         param="messages", code="invalid_image_url")


async def _read_image(response: httpx.Response, url: str, max_bytes: int) -> InlineImage:
    if response.status_code != 200:
        raise InvalidRequest(f"fetching the image {url[:200]} failed with HTTP {response.status_code}",
                             param="messages", code="invalid_image_url")
    received = bytearray()
    async for piece in response.aiter_bytes():
        received += piece
        if len(received) > max_bytes:
            raise InvalidRequest(f"the image {url[:200]} is larger than {max_bytes // 1048576} MiB",
                                 param="messages", code="image_too_large")
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if not media_type.startswith("image/"):
        media_type = mimetypes.guess_type(url.split("?")[0])[0] or "image/png"
    return InlineImage(media_type, base64.b64encode(bytes(received)).decode())


def _checked_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise InvalidRequest(f"unsupported image URL scheme in {url[:100]}", param="messages",
                             code="invalid_image_url")
    return url


def _refuse_private(where: str) -> InvalidRequest:
    return InvalidRequest(f"the image URL {where[:200]} points into a private network; the gateway fetches "
                          "only public addresses (ALLOW_PRIVATE_IMAGE_URLS lifts this)", param="messages",
                          code="invalid_image_url")


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def _require_public_host(url: httpx.URL) -> None:
    """Every address the URL's host resolves to must be public (no loopback, private, link-local)."""
    _checked_url(str(url))  # a redirect may lead to another scheme
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise InvalidRequest(f"the image host {url.host[:100]} cannot be resolved", param="messages",
                             code="invalid_image_url") from None
    if not found or not all(_is_public(str(entry[4][0])) for entry in found):
        raise _refuse_private(str(url))


def _require_public_peer(response: httpx.Response) -> None:
    """The address actually connected to must be public too (the name may resolve anew)."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer and not _is_public(str(peer[0])):
        raise _refuse_private(str(response.url))


async def fetch_images(client: httpx.AsyncClient, urls: Iterable[str], *, max_bytes: int = MAX_IMAGE_BYTES,
                       allow_private: bool = False) -> dict[str, InlineImage]:
    """Download remote images concurrently; any failure is the client's 400.

    Only public addresses are fetched unless ``allow_private``: a client must not make the
    gateway read its own network (cloud metadata, admin ports) and hand the bytes to a
    vendor whose answer describes them. Each redirect hop is checked before it is followed.
    """
    wanted = list(urls)
    images = await asyncio.gather(*(_fetch(client, url, max_bytes, allow_private) for url in wanted))
    return dict(zip(wanted, images, strict=True))
