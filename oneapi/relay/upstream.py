"""The hot-path HTTP client: one pooled aiohttp session for the process.

The relay's speed is decided here. Measured with ``bench/`` on one core (see the bench
README): aiohttp's client parses responses in C (llhttp) and adds a fraction of a
millisecond per request, while httpx's default transport parses in pure Python and costs
2-3 ms of CPU per request. Everything else in the project keeps using httpx; only the
relay sends through this module, so the transport can be swapped in one place.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

import aiohttp
from aiohttp.payload import BytesPayload

from oneapi.errors import UpstreamError, UpstreamTimeout

if TYPE_CHECKING:
    from oneapi.config import Settings
    from oneapi.runtime import Runtime

__all__ = ("UpstreamClient", "UpstreamConnectionError", "UpstreamResponse")

log = logging.getLogger("oneapi.relay.upstream")


class UpstreamConnectionError(UpstreamError):
    """The upstream could not be reached or hung up before answering."""


class UpstreamResponse:
    """A response whose body has not been read yet; ``close()`` frees the connection."""

    __slots__ = ("_response", "headers", "status")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers = response.headers

    @property
    def content_type(self) -> str:
        return self._response.headers.get("Content-Type", "application/json")

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except TimeoutError:
            raise UpstreamTimeout("the upstream did not finish its answer in time") from None
        except aiohttp.ClientError as exc:
            raise UpstreamConnectionError(f"the upstream connection failed: {type(exc).__name__}") from None
        finally:
            self._response.release()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive off the socket, without waiting for any boundary."""
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except TimeoutError:
            raise UpstreamTimeout("the upstream stalled while streaming") from None
        except aiohttp.ClientError as exc:
            raise UpstreamConnectionError(f"the upstream stream broke: {type(exc).__name__}") from None

    def close(self) -> None:
        """Drop the connection (a half-read stream cannot be reused)."""
        self._response.close()


class UpstreamClient:
    """A runtime component: the shared session, created on start and closed on stop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout()

    async def start(self, runtime: Runtime) -> None:
        self.open(runtime.settings)

    def open(self, settings: Settings) -> None:
        """Create the session (``start`` without a runtime, for one-off users)."""
        connector = aiohttp.TCPConnector(limit=settings.relay_max_connections, limit_per_host=0,
                                         ttl_dns_cache=300, enable_cleanup_closed=True)
        self._timeout = aiohttp.ClientTimeout(total=settings.relay_timeout or None,
                                              sock_connect=settings.relay_connect_timeout)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                              auto_decompress=False, headers={"User-Agent": "one-api"},
                                              cookie_jar=aiohttp.DummyCookieJar())

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def started(self) -> bool:
        return self._session is not None

    async def send(self, method: str, url: str, headers: Mapping[str, str],
                   body: bytes | None) -> UpstreamResponse:
        """Send a request and return once the status line and headers are in.

        Raises:
            UpstreamTimeout: the upstream did not answer within ``RELAY_TIMEOUT``.
            UpstreamConnectionError: connection refused, reset or DNS failure.
        """
        if self._session is None:
            raise RuntimeError("the upstream client is not started")
        try:
            data = BytesPayload(body) if body is not None else None  # spares aiohttp's payload-type lookup
            response = await self._session.request(method, url, headers=headers, data=data,
                                                   allow_redirects=False)
        except TimeoutError:
            raise UpstreamTimeout("the upstream did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise UpstreamConnectionError(f"cannot reach the upstream: {type(exc).__name__}") from None
        return UpstreamResponse(response)
