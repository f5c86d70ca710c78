"""The ``/api`` layer every management route sits behind (the rate limit and role guards, the
request hooks), and the management API's state.

The routes themselves are registered by area, each the first time a request falls in it
(:data:`oneapi.console.AREAS`), each area under its own :func:`management_router`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Router

from oneapi.api.auth import require_role
from oneapi.api.channel_test import ChannelTestScheduler
from oneapi.api.codes import CodeBook
from oneapi.api.common import before_api_request, localize_message
from oneapi.api.context import Management
from oneapi.api.ip_limits import api_rate_limit, ip_limiter
from oneapi.api.login_backoff import LoginBackoff
from oneapi.api.oauth_clients import OidcDiscovery

if TYPE_CHECKING:
    from litestar.types import ControllerRouterHandler

    from oneapi.runtime import Runtime

__all__ = ("install_management", "management_router")


def install_management(runtime: Runtime) -> Management:
    """The management API's state: the channel tests (CHANNEL_TEST_FREQUENCY; its runtime
    component), the per-account login back-off, the emailed codes (and sign-in states), the
    per-IP windows and the OIDC provider's cached discovery."""
    shared = runtime.services.shared  # Redis: counts and codes shared by the replicas
    return Management(login_backoff=LoginBackoff(shared), email_codes=CodeBook(shared),
                      ip_limits=ip_limiter(), channel_tests=ChannelTestScheduler(runtime),
                      oidc_discovery=OidcDiscovery())


def management_router(*handlers: ControllerRouterHandler) -> Router:
    """One-api's management routes ``handlers`` under ``/api``; each handler declares its least
    role or that it is public (``oneapi.api.auth``), and ``require_role`` refuses one that does
    neither."""
    return Router(
        path="/api",
        guards=[api_rate_limit, require_role],
        before_request=before_api_request,
        after_request=localize_message,
        route_handlers=list(handlers),
    )
