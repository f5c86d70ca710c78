"""Reading a vendor's account endpoints (balance, model list): GET, JSON, numbers.

Used by the adapters' :meth:`~oneapi.relay.adapters.base.Adapter.balance` and by the
management API's model fetch, through the relay's upstream client.
"""

from __future__ import annotations

import json
from typing import Any

from oneapi.errors import UpstreamError
from oneapi.relay.upstream import UpstreamTransport
from oneapi.security import mask_secrets

__all__ = ("get_json", "number")


async def get_json(client: UpstreamTransport, url: str, headers: dict[str, str]) -> Any:
    """GET ``url`` and decode its JSON; an HTTP error becomes the vendor's words (credentials masked)."""
    response = await client.send("GET", url, {**headers, "Accept": "application/json"}, None)
    body = await response.read()
    if response.status >= 400:
        excerpt = mask_secrets(body[:200].decode(errors="replace"), headers.values())
        raise UpstreamError(f"the vendor answered HTTP {response.status}: {excerpt}")
    try:
        return json.loads(body)
    except ValueError:
        raise UpstreamError("the vendor's answer is not JSON") from None


def number(value: Any, what: str) -> float:
    """``value`` as a float; a missing or malformed figure is the vendor's error."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UpstreamError(f"the vendor's {what} is missing or not a number") from None
