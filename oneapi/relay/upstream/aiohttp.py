"""The production transport: one pooled aiohttp session for the process.

The relay's speed is decided here. Measured with ``bench/`` on one core (``python
bench/run.py --transports``, see the bench README): aiohttp's client parses responses in C
(llhttp) and adds a fraction of a millisecond per request, while httpx's default transport
parses in pure Python and costs 2-3 ms of CPU per request. Everything else in the project
keeps using httpx; aiohttp is imported only here, so the transport can be swapped in one
place (:class:`~oneapi.relay.upstream.base.UpstreamTransport`). TLS uses the gateway's own
context, built by the first https:// request (:mod:`~oneapi.relay.upstream.tls` says why).

Time limits (:class:`~oneapi.relay.upstream.base.TimeLimits`): connecting is aiohttp's
``sock_connect``. The first byte (status line and headers) and the idle time between body
reads share **one timer per request** (:class:`_Watch`), armed when the request is sent
and cancelled when the body is done: in the head phase an expiry cancels the waiting task
(as ``asyncio.timeout`` would, with the same ``uncancel`` bookkeeping), in the body phase
it closes the connection once a read has waited longer than the idle limit, and otherwise
moves itself on. An ``asyncio.timeout`` scope for the head and another for a whole-body
read cost about 4 % of a request's CPU on the bench; a timeout per stream chunk cost more.
aiohttp's ``sock_read`` cannot tell the header wait from the gaps between chunks.
``RELAY_TIMEOUT``, one-api's overall limit (0: none), stays the session's total timeout.

aiohttp's exceptions are mapped to the upstream subclasses of :mod:`oneapi.errors`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING

from oneapi.errors import (
    UpstreamConnectError,
    UpstreamConnectTimeout,
    UpstreamFirstByteTimeout,
    UpstreamIdleTimeout,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from oneapi.relay.upstream.base import TimeLimits, UpstreamResponse, UpstreamTransport
from oneapi.relay.upstream.tls import context_for, importing_aiohttp

with importing_aiohttp():  # without its import-time CA loads: see oneapi.relay.upstream.tls
    import aiohttp
    from aiohttp.payload import BytesPayload

if TYPE_CHECKING:
    from oneapi.config import Settings
    from oneapi.runtime import Runtime

__all__ = ("AiohttpResponse", "AiohttpTransport")

log = logging.getLogger("oneapi.relay.upstream")


def _overall_timeout() -> UpstreamTimeout:
    """aiohttp's total timeout (RELAY_TIMEOUT) expired, while connecting or reading."""
    return UpstreamTimeout("the upstream call took longer than RELAY_TIMEOUT")


class _Watch:
    """The one timer of a request: first-byte limit until the head is in, then idle limit."""

    __slots__ = ("_cancelling", "_sent_at", "_task", "_timer", "expired", "limits", "loop", "response",
                 "waiting_since")

    def __init__(self, loop: asyncio.AbstractEventLoop, limits: TimeLimits) -> None:
        task = asyncio.current_task(loop)
        assert task is not None, "send() runs in a task"
        self.loop, self._task, self.limits = loop, task, limits
        self._cancelling = task.cancelling()
        self.response: aiohttp.ClientResponse | None = None  # set when the head is in
        self.waiting_since: float | None = None  # from the head to the first read's end; while a read waits
        self.expired = False
        self._sent_at = now = loop.time()
        # never later than either deadline; an early expiry just moves the timer on
        self._timer: asyncio.TimerHandle | None = loop.call_at(
            now + min(limits.first_byte, limits.idle), self._expire)

    def _expire(self) -> None:
        now = self.loop.time()
        response = self.response
        if response is None:
            deadline = self._sent_at + self.limits.first_byte
            if now >= deadline:
                self.expired = True
                self._task.cancel()
                return
        else:
            since = self.waiting_since
            deadline = (now if since is None else since) + self.limits.idle
            if since is not None and now - since >= self.limits.idle:
                self.expired = True
                response.close()
                return
        self._timer = self.loop.call_at(deadline, self._expire)

    def timed_out(self) -> bool:
        """After a cancellation in the head phase: whether it was this timer's (undone if so)."""
        return self.expired and self._task.uncancel() <= self._cancelling

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class AiohttpResponse(UpstreamResponse):
    """An aiohttp response under its request's :class:`_Watch`."""

    __slots__ = ("_response", "_watch")

    def __init__(self, response: aiohttp.ClientResponse, watch: _Watch) -> None:
        self._response = response
        self._watch = watch
        watch.response = response
        # the idle limit runs from the head's arrival until the body is read: an answer nobody
        # reads is closed then, and the timer ends with it
        watch.waiting_since = watch.loop.time()
        self.status = response.status
        self.headers = response.headers

    async def read(self) -> bytes:
        watch = self._watch
        try:
            return await self._response.read()
        except aiohttp.ClientError as exc:
            raise self._broken(exc, "did not finish its answer") from None
        except TimeoutError:
            raise _overall_timeout() from None
        finally:
            watch.stop()
            self._response.release()

    async def iter_chunks(self) -> AsyncGenerator[bytes, None]:
        watch, content, loop = self._watch, self._response.content, self._watch.loop
        try:
            while True:
                watch.waiting_since = loop.time()
                chunk = await content.readany()
                watch.waiting_since = None
                if not chunk:
                    break
                yield chunk
        except aiohttp.ClientError as exc:
            raise self._broken(exc, "stream broke") from None
        except TimeoutError:
            raise _overall_timeout() from None
        finally:
            watch.stop()

    def _broken(self, exc: aiohttp.ClientError, what: str) -> UpstreamIdleTimeout | UpstreamProtocolError:
        if self._watch.expired:
            return UpstreamIdleTimeout(f"the upstream stalled for {self._watch.limits.idle:g} s")
        return UpstreamProtocolError(f"the upstream {what}: {type(exc).__name__}")

    def close(self) -> None:
        self._watch.stop()
        self._response.close()


class AiohttpTransport(UpstreamTransport):
    """A runtime component: the shared session, created on start and closed on stop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

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
                   limits: TimeLimits | None = None) -> AiohttpResponse:
        session = self._session
        if session is None:
            raise RuntimeError("the upstream transport is not started")
        limits = limits or self.limits
        # aiohttp's own ClientTimeout is built only when a channel changes the connect limit
        timeout = (aiohttp.ClientTimeout(total=session.timeout.total, sock_connect=limits.connect)
                   if limits.connect != self.limits.connect else None)
        data = BytesPayload(body) if body is not None else None  # spares aiohttp's payload-type lookup
        watch = _Watch(asyncio.get_running_loop(), limits)
        try:
            response = await session.request(method, url, headers=headers, data=data, ssl=context_for(url),
                                              allow_redirects=False, timeout=timeout)
        except asyncio.CancelledError:
            watch.stop()
            if watch.timed_out():
                message = f"the upstream sent nothing within {limits.first_byte:g} s"
                raise UpstreamFirstByteTimeout(message) from None
            raise
        except aiohttp.ConnectionTimeoutError:
            watch.stop()
            message = f"cannot connect to the upstream within {limits.connect:g} s"
            raise UpstreamConnectTimeout(message) from None
        except TimeoutError:
            watch.stop()
            raise _overall_timeout() from None
        except aiohttp.ClientConnectorError as exc:
            watch.stop()
            raise UpstreamConnectError(f"cannot reach the upstream: {type(exc).__name__}") from None
        except aiohttp.ClientError as exc:
            watch.stop()
            raise UpstreamProtocolError(f"the upstream did not answer: {type(exc).__name__}") from None
        return AiohttpResponse(response, watch)
