"""The relay's fast lanes: ``POST`` path -> raw ASGI callable, answered by :mod:`oneapi.edge`
before (and without) Litestar, which a relay-only process never imports.

``relay.routes`` offers the same calls as Litestar routes for what the lanes pass on.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from oneapi.relay.client_formats import ANTHROPIC_MESSAGES
from oneapi.relay.request import RelayMode, RelayRequest

if TYPE_CHECKING:
    from oneapi.relay.asgi import Incoming
    from oneapi.relay.service import Relay

__all__ = ("ANTHROPIC_MESSAGES_PATH", "parse_anthropic_messages", "relay_lanes")

ANTHROPIC_MESSAGES_PATH = "/v1/messages"


def parse_anthropic_messages(body: bytes, incoming: Incoming) -> RelayRequest:
    return ANTHROPIC_MESSAGES.parse(body, incoming.headers)


def relay_lanes(relay: Relay) -> dict[str, Any]:
    """``POST`` path -> raw ASGI callable, for :class:`oneapi.edge.Edge`."""
    lanes: dict[str, Any] = {f"/v1/{mode.value}": partial(relay.handle, mode=mode) for mode in RelayMode}
    lanes[ANTHROPIC_MESSAGES_PATH] = partial(relay.handle, mode=RelayMode.CHAT,
                                             parse=parse_anthropic_messages)
    return lanes
