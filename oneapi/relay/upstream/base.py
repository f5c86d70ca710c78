"""What the relay needs from an HTTP client, and nothing more.

A transport sends one request and returns once the status line and headers are in
(:meth:`UpstreamTransport.send`); the body is then read whole (:meth:`UpstreamResponse.read`)
or as it arrives (:meth:`UpstreamResponse.iter_chunks`), and ``close()`` drops what is
left. Every call runs under :class:`TimeLimits`. Failures are raised as the upstream
subclasses of :mod:`oneapi.errors` (connect and protocol errors, connect, first-byte and
idle timeouts), never as the HTTP library's own exceptions, so the relay's retry and
billing rules do not depend on which library is underneath.

Two implementations: :class:`~oneapi.relay.upstream.aiohttp.AiohttpTransport` (production)
and :class:`~oneapi.relay.upstream.memory.MemoryTransport` (a function answers each request,
for tests that need no socket).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oneapi.runtime import Runtime

__all__ = ("TimeLimits", "UpstreamResponse", "UpstreamTransport")

#: the keys of a channel's config JSON that override the settings' time limits
_CONFIG_KEYS = {"connect_timeout": "connect", "first_byte_timeout": "first_byte", "idle_timeout": "idle"}


@dataclass(frozen=True, slots=True)
class TimeLimits:
    """Seconds an upstream call may take to connect, to send its first byte, and between chunks.

    The defaults are long because reasoning models think before they answer: a non-streamed
    o1/o3 or R1 answer's first byte comes after the whole reasoning (minutes), and some
    streams stay silent while the model thinks.
    """

    connect: float = 10.0
    first_byte: float = 600.0
    idle: float = 300.0

    def for_channel(self, config: Mapping[str, Any]) -> TimeLimits:
        """These limits with a channel config's positive numbers in their place."""
        if not config or config.keys().isdisjoint(_CONFIG_KEYS):  # most channels: once per request
            return self
        overrides = {field: value for key, field in _CONFIG_KEYS.items()
                     if isinstance(value := config.get(key), int | float) and value > 0}
        return replace(self, **overrides) if overrides else self


class UpstreamResponse(abc.ABC):
    """An answer whose status and headers are in and whose body has not been read yet."""

    __slots__ = ("headers", "status")

    status: int
    headers: Mapping[str, str]  # case-insensitive

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "application/json")

    @abc.abstractmethod
    async def read(self) -> bytes:
        """The whole body, which must arrive within the idle limit; the connection is then free.

        Raises:
            UpstreamIdleTimeout: the body did not arrive in time.
            UpstreamProtocolError: the connection broke.
        """

    @abc.abstractmethod
    def iter_chunks(self) -> AsyncGenerator[bytes, None]:
        """Body bytes as they arrive, without waiting for any boundary.

        Only the time spent waiting for the upstream counts against the idle limit, not the
        time the consumer takes between chunks.

        Raises:
            UpstreamIdleTimeout: no bytes for longer than the idle limit.
            UpstreamProtocolError: the connection broke.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Drop the connection (a half-read body cannot be reused); harmless when done already."""


class UpstreamTransport(abc.ABC):
    """Sends requests to vendors; a runtime component (``start``/``stop``)."""

    limits: TimeLimits = TimeLimits()  # the settings' (RELAY_*_TIMEOUT) once started

    @abc.abstractmethod
    async def start(self, runtime: Runtime) -> None:
        """Take the settings' limits and open connection pools."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Close connection pools; ``send`` must not be called after this."""

    @property
    @abc.abstractmethod
    def started(self) -> bool:
        """Started and not stopped: ``send`` may be called."""

    @abc.abstractmethod
    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                   limits: TimeLimits | None = None) -> UpstreamResponse:
        """Send a request and return once the status line and headers are in.

        ``limits`` default to :attr:`limits`. Redirects are not followed and bodies are not
        decompressed: the answer is passed on as the vendor sent it.

        Raises:
            UpstreamConnectError: connection refused, name not resolved, TLS failed.
            UpstreamConnectTimeout: no connection within ``limits.connect``.
            UpstreamFirstByteTimeout: no status line and headers within ``limits.first_byte``.
            UpstreamProtocolError: the upstream hung up before answering, or did not speak HTTP.
        """
