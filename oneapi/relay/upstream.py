"""The hot-path HTTP client: one pooled aiohttp session for the process.

The relay's speed is decided here. Measured with ``bench/`` on one core (see the bench
README): aiohttp's client parses responses in C (llhttp) and adds a fraction of a
millisecond per request, while httpx's default transport parses in pure Python and costs
2-3 ms of CPU per request. Everything else in the project keeps using httpx; only the
relay sends through this module, so the transport can be swapped in one place.

Every call runs under :class:`TimeLimits`: connecting, the first byte (the status line
and headers), and the idle time between body chunks, each from the settings
(``RELAY_CONNECT_TIMEOUT``, ``RELAY_FIRST_BYTE_TIMEOUT``, ``RELAY_IDLE_TIMEOUT``) and
overridable per channel in its config JSON. The defaults are long because reasoning
models think before they answer: a non-streamed o1/o3 or R1 answer's first byte comes
after the whole reasoning (minutes), and some streams stay silent while the model thinks.
The first-byte limit wraps aiohttp's request in ``asyncio.timeout``; the idle limit is a
watchdog timer over a stream's reads (aiohttp's ``sock_read`` cannot tell the header wait
from the gaps between chunks). ``RELAY_TIMEOUT``, one-api's overall limit (0: none), stays
the session's total timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp.payload import BytesPayload

from oneapi.errors import UpstreamError, UpstreamTimeout

if TYPE_CHECKING:
    from oneapi.config import Settings
    from oneapi.runtime import Runtime

__all__ = ("TimeLimits", "UpstreamClient", "UpstreamConnectionError", "UpstreamResponse")

log = logging.getLogger("oneapi.relay.upstream")


class UpstreamConnectionError(UpstreamError):
    """The upstream could not be reached or hung up before answering."""


#: the keys of a channel's config JSON that override the settings' time limits
_CONFIG_KEYS = {"connect_timeout": "connect", "first_byte_timeout": "first_byte", "idle_timeout": "idle"}


@dataclass(frozen=True, slots=True)
class TimeLimits:
    """Seconds an upstream call may take to connect, to send its first byte, and between chunks."""

    connect: float
    first_byte: float
    idle: float

    def for_channel(self, config: Mapping[str, Any]) -> TimeLimits:
        """These limits with a channel config's positive numbers in their place."""
        overrides = {field: value for key, field in _CONFIG_KEYS.items()
                     if isinstance(value := config.get(key), int | float) and value > 0}
        return replace(self, **overrides) if overrides else self


class UpstreamResponse:
    """A response whose body has not been read yet; ``close()`` frees the connection."""

    __slots__ = ("_idle", "_response", "_stalled", "_waiting_since", "_watchdog", "headers", "status")

    def __init__(self, response: aiohttp.ClientResponse, idle: float) -> None:
        self._response = response
        self._idle = idle
        self._waiting_since: float | None = None
        self._stalled = False
        self._watchdog: asyncio.TimerHandle | None = None
        self.status = response.status
        self.headers = response.headers

    @property
    def content_type(self) -> str:
        return self._response.headers.get("Content-Type", "application/json")

    async def read(self) -> bytes:
        """The whole body, which must arrive within the idle limit once the headers are in."""
        try:
            async with asyncio.timeout(self._idle):
                return await self._response.read()
        except TimeoutError:
            raise UpstreamTimeout("the upstream did not finish its answer in time") from None
        except aiohttp.ClientError as exc:
            raise UpstreamConnectionError(f"the upstream connection failed: {type(exc).__name__}") from None
        finally:
            self._response.release()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive off the socket, without waiting for any boundary.

        The idle limit is kept by one watchdog timer per stream, not a timeout per read
        (an ``asyncio.timeout`` per chunk cost a visible share of a stream's CPU time on
        the bench): it closes the connection once a read has waited longer than the limit.
        Time spent passing a chunk on to a slow client does not count.
        """
        loop = asyncio.get_running_loop()
        content = self._response.content
        self._watchdog = loop.call_later(self._idle, self._watch, loop)
        try:
            while True:
                self._waiting_since = loop.time()
                chunk = await content.readany()
                self._waiting_since = None
                if not chunk:
                    break
                yield chunk
        except aiohttp.ClientError as exc:
            if not self._stalled:
                raise UpstreamConnectionError(f"the upstream stream broke: {type(exc).__name__}") from None
        finally:
            self._watchdog.cancel()
        if self._stalled:
            raise UpstreamTimeout(f"the upstream stalled for {self._idle:g} s while streaming")

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        since, now = self._waiting_since, loop.time()
        if since is not None and now - since >= self._idle:
            self._stalled = True
            self._response.close()
            return
        self._watchdog = loop.call_at((now if since is None else since) + self._idle, self._watch, loop)

    def close(self) -> None:
        """Drop the connection (a half-read stream cannot be reused)."""
        self._response.close()


class UpstreamClient:
    """A runtime component: the shared session, created on start and closed on stop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self.limits = TimeLimits(10.0, 600.0, 300.0)

    async def start(self, runtime: Runtime) -> None:
        self.open(runtime.settings)

    def open(self, settings: Settings) -> None:
        """Create the session (``start`` without a runtime, for one-off users)."""
        connector = aiohttp.TCPConnector(limit=settings.relay_max_connections, limit_per_host=0,
                                         ttl_dns_cache=300, enable_cleanup_closed=True)
        self.limits = TimeLimits(settings.relay_connect_timeout, settings.relay_first_byte_timeout,
                                 settings.relay_idle_timeout)
        timeout = aiohttp.ClientTimeout(total=settings.relay_timeout or None,
                                        sock_connect=self.limits.connect)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout,
                                              auto_decompress=False, headers={"User-Agent": "one-api"},
                                              cookie_jar=aiohttp.DummyCookieJar())

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def started(self) -> bool:
        return self._session is not None

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                   limits: TimeLimits | None = None) -> UpstreamResponse:
        """Send a request and return once the status line and headers are in.

        ``limits`` default to the settings' (:attr:`limits`).

        Raises:
            UpstreamTimeout: no connection, or no first byte, within the limits.
            UpstreamConnectionError: connection refused, reset or DNS failure.
        """
        if self._session is None:
            raise RuntimeError("the upstream client is not started")
        limits = limits or self.limits
        # aiohttp's own ClientTimeout is built only when a channel changes the connect limit
        timeout = (aiohttp.ClientTimeout(total=self._session.timeout.total, sock_connect=limits.connect)
                   if limits.connect != self.limits.connect else None)
        try:
            data = BytesPayload(body) if body is not None else None  # spares aiohttp's payload-type lookup
            async with asyncio.timeout(limits.first_byte):
                response = await self._session.request(method, url, headers=headers, data=data,
                                                       allow_redirects=False, timeout=timeout)
        except aiohttp.ConnectionTimeoutError:
            raise UpstreamTimeout(f"cannot connect to the upstream within {limits.connect:g} s") from None
        except TimeoutError:
            raise UpstreamTimeout(f"the upstream sent nothing within {limits.first_byte:g} s") from None
        except aiohttp.ClientError as exc:
            raise UpstreamConnectionError(f"cannot reach the upstream: {type(exc).__name__}") from None
        return UpstreamResponse(response, limits.idle)
