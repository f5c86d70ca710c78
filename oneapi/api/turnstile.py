"""Cloudflare Turnstile, checked server-side where one-api checks it.

With ``TurnstileCheckEnabled`` on, registration, sending a verification code and sending
a reset link need the widget's answer in the ``turnstile`` query parameter; the gateway
asks Cloudflare's siteverify endpoint (form fields ``secret``, ``response``, ``remoteip``)
and goes on only when it answers ``{"success": true}``. One-api checks nothing else with
it (not the password login), and neither does this gateway.

The verify URL is ``oneapi.api.context.Management.turnstile_verify_url`` (Cloudflare's) so
tests can point it at a local mock; it is not a setting. httpx is imported by the first
check: loaded with the management API it cost the first management call about 20 ms, and
more where rich and pygments are installed (httpx then loads its command line too).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from oneapi.api.context import management
from oneapi.errors import Forbidden, ServiceUnavailable
from oneapi.options import options

__all__ = ("turnstile_check",)

TIMEOUT_SECONDS = 10.0


async def turnstile_check(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Guard: refuse the request unless Turnstile is off or Cloudflare accepts its answer."""
    if not options.get_bool("TurnstileCheckEnabled"):
        return
    answer = connection.query_params.get("turnstile", "")
    if not answer:
        raise Forbidden("the Turnstile check is missing; reload the page and try again",
                        code="turnstile_missing")
    form = {"secret": options.get("TurnstileSecretKey"), "response": answer}
    if connection.client:
        form["remoteip"] = connection.client.host
    import httpx

    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            reply = await client.post(management(connection).turnstile_verify_url, data=form)
        verdict = reply.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ServiceUnavailable(f"the Turnstile check could not be verified: {exc}") from None
    if not (isinstance(verdict, dict) and verdict.get("success") is True):
        raise Forbidden("the Turnstile check failed; reload the page and try again", code="turnstile_failed")
