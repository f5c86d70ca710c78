"""The TLS context of every connection to an upstream, built by the first https:// or wss:// call.

Why the relay does not use aiohttp's own: ``aiohttp.connector`` builds two TLS contexts when it
is imported, a verifying one and one that verifies nothing, and each loads the system's whole
CA bundle. Under callgrind that is 470 M of the 2,484 M instructions of ``import app`` (19 %;
OpenSSL 3 decodes every certificate of the bundle, twice), 60-90 ms of every cold start's CPU,
paid even when every channel is plain http (a local vLLM or Ollama) and twice where once does.

So the gateway builds its own, once, on the first request to an https:// or wss:// upstream
(:func:`context_for`), and passes it with every such request; :func:`importing_aiohttp` lets
aiohttp build its import-time contexts without loading any CA. Nothing of aiohttp's defaults is
relied on: a caller that used aiohttp's default context would fail to verify, never skip it.
``tests/relay/test_tls_upstream.py`` checks the first through the official OpenAI SDK: a vendor
whose CA the system trusts answers, one another CA signed is refused; ``tests/relay/test_transports.py``
checks that importing the transport loads no CA.

The context is the standard library's default (the system's CAs, hostname checked, TLS 1.2 and
newer), offering only HTTP/1.1 by ALPN, as aiohttp's own does. Building it blocks the event loop
once, for the 30-45 ms that loading the bundle takes.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

__all__ = ("context_for", "importing_aiohttp")


@cache
def _client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


def context_for(url: str) -> ssl.SSLContext | bool:
    """The TLS context for a request to ``url``; ``True`` (aiohttp's "no preference") for plain ones."""
    if url.startswith(("https:", "wss:")):
        return _client_context()
    return True


def _no_default_cas(context: ssl.SSLContext) -> None:
    """Stands in for ``SSLContext.set_default_verify_paths`` while aiohttp is imported."""


@contextmanager
def importing_aiohttp() -> Iterator[None]:
    """Import aiohttp inside this block: its import-time TLS contexts are built without CAs.

    It replaces ``ssl.SSLContext.set_default_verify_paths`` for the duration of the import, on
    the one thread that imports; a program that has imported aiohttp already is left as it is.
    """
    if "aiohttp.connector" in sys.modules:
        yield
        return
    own = vars(ssl.SSLContext).get("set_default_verify_paths")  # None: inherited from _ssl
    ssl.SSLContext.set_default_verify_paths = _no_default_cas  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        if own is None:
            del ssl.SSLContext.set_default_verify_paths
        else:
            ssl.SSLContext.set_default_verify_paths = own  # type: ignore[method-assign]
