"""How the relay talks to vendors: one small transport interface and its implementations.

- :mod:`~oneapi.relay.upstream.base`: :class:`UpstreamTransport` (send a request, get the
  status and headers) and :class:`UpstreamResponse` (read the body whole or as it
  arrives, close), and the :class:`TimeLimits` every call runs under.
- :mod:`~oneapi.relay.upstream.aiohttp`: the production transport, one pooled aiohttp
  session (the relay's only HTTP client; its docstring has the measurement behind that
  choice).
- :mod:`~oneapi.relay.upstream.memory`: a function answers each request, for unit tests
  of the relay that need no socket.

Failures are the upstream subclasses of :mod:`oneapi.errors`, documented there with the
rest of the gateway's errors.
"""

from __future__ import annotations

from oneapi.relay.upstream.aiohttp import AiohttpTransport
from oneapi.relay.upstream.base import TimeLimits, UpstreamResponse, UpstreamTransport
from oneapi.relay.upstream.memory import MemoryAnswer, MemoryTransport, UpstreamRequest

__all__ = ("AiohttpTransport", "MemoryAnswer", "MemoryTransport", "TimeLimits", "UpstreamRequest",
           "UpstreamResponse", "UpstreamTransport")
