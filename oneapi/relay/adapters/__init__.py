"""Upstream wire formats, one module per ``ChannelType.api_format`` (see ``base``)."""

from __future__ import annotations

import importlib
from functools import cache

from oneapi.relay.adapters.base import Adapter

__all__ = ("Adapter", "adapter_for")


@cache
def adapter_for(api_format: str) -> Adapter | None:
    """The adapter for a format, or None when this build cannot speak it."""
    try:
        module = importlib.import_module(f"{__name__}.{api_format}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{api_format}":
            return None
        raise
    return getattr(module, "ADAPTER", None)
