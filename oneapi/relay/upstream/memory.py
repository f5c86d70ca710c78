"""An in-memory transport: a function answers each request, no socket opened.

For unit tests of the relay (retries, format conversions, billing), as httpx's
``MockTransport``::

    def vendor(request: UpstreamRequest) -> MemoryAnswer:
        if request.url.endswith("/chat/completions"):
            return MemoryAnswer.json({"choices": [...], "usage": {...}})
        return MemoryAnswer(404, body=b"no such route")

    relay = Relay(cache, writer, MemoryTransport(vendor))

The handler may be a coroutine function, may raise any of the upstream errors of
:mod:`oneapi.errors` to play a failure (:class:`~oneapi.errors.UpstreamConnectError`, say),
and may answer with chunks (a list, or an async iterator that can pause between them) to
play a stream. The time limits hold as they do over a socket: a handler slower than the
first-byte limit is an :class:`~oneapi.errors.UpstreamFirstByteTimeout`, a chunk source
silent for longer than the idle limit an :class:`~oneapi.errors.UpstreamIdleTimeout`.
Every request is kept in :attr:`MemoryTransport.requests`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
)
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict, CIMultiDictProxy

from oneapi.errors import UpstreamFirstByteTimeout, UpstreamIdleTimeout, UpstreamProtocolError
from oneapi.relay.upstream.base import TimeLimits, UpstreamResponse, UpstreamTransport

if TYPE_CHECKING:
    from oneapi.runtime import Runtime

__all__ = ("MemoryAnswer", "MemoryResponse", "MemoryTransport", "UpstreamRequest")


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """A request as the transport was asked to send it."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    limits: TimeLimits

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(slots=True)
class MemoryAnswer:
    """What the handler answers: a status, headers, and a body whole or in chunks."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] | AsyncIterable[bytes] = b""

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> MemoryAnswer:
        return cls(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())

    @classmethod
    def sse(cls, events: Iterable[Any], *, done: bool = True) -> MemoryAnswer:
        """A server-sent event stream, one chunk per event (``data: <json>``), then ``[DONE]``."""
        chunks = [f"data: {json.dumps(event)}\n\n".encode() for event in events]
        if done:
            chunks.append(b"data: [DONE]\n\n")
        return cls(200, {"Content-Type": "text/event-stream"}, chunks)


async def _chunks_of(body: bytes | Iterable[bytes] | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if isinstance(body, bytes):
        if body:
            yield body
    elif isinstance(body, AsyncIterable):
        async for chunk in body:
            yield chunk
    else:
        for chunk in body:
            yield chunk


class MemoryResponse(UpstreamResponse):
    """A handler's answer, read under the request's idle limit."""

    __slots__ = ("_closed", "_idle", "_source")

    def __init__(self, answer: MemoryAnswer, idle: float) -> None:
        self.status = answer.status
        self.headers = CIMultiDictProxy(CIMultiDict(answer.headers))
        self._source = _chunks_of(answer.body)
        self._idle = idle
        self._closed = False

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_chunks()])

    async def iter_chunks(self) -> AsyncGenerator[bytes, None]:
        try:
            while not self._closed:
                try:
                    async with asyncio.timeout(self._idle):
                        chunk = await anext(self._source, b"")
                except TimeoutError:
                    raise UpstreamIdleTimeout(f"the upstream stalled for {self._idle:g} s") from None
                if not chunk:
                    return
                yield chunk
            raise UpstreamProtocolError("the upstream stream broke: the response was closed")
        finally:
            self.close()

    def close(self) -> None:
        self._closed = True


Handler = Callable[[UpstreamRequest], MemoryAnswer | Awaitable[MemoryAnswer]]


class MemoryTransport(UpstreamTransport):
    """Answers every request with ``handler``; records them in :attr:`requests`."""

    def __init__(self, handler: Handler, limits: TimeLimits | None = None) -> None:
        self.handler = handler
        self.limits = limits or TimeLimits()
        self.requests: list[UpstreamRequest] = []
        self._stopped = False

    async def start(self, runtime: Runtime) -> None:
        """Nothing to open; the limits given to the constructor stay."""
        self._stopped = False

    async def stop(self) -> None:
        self._stopped = True

    @property
    def started(self) -> bool:
        return not self._stopped

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                   limits: TimeLimits | None = None) -> MemoryResponse:
        if self._stopped:
            raise RuntimeError("the upstream transport is stopped")
        limits = limits or self.limits
        request = UpstreamRequest(method, url, dict(headers), body, limits)
        self.requests.append(request)
        answer = self.handler(request)
        if inspect.isawaitable(answer):
            try:
                async with asyncio.timeout(limits.first_byte):
                    answer = await answer
            except TimeoutError:
                message = f"the upstream sent nothing within {limits.first_byte:g} s"
                raise UpstreamFirstByteTimeout(message) from None
        return MemoryResponse(answer, limits.idle)
