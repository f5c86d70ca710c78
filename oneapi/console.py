"""Everything the relay's lanes do not answer, as one Litestar app: the management API, the
web UI, ``/metrics``, the relay's GET routes and other vendors' routes.

:class:`oneapi.edge.Edge` imports this module and calls :func:`build_console` on the first
request that needs it, so a process that only relays never loads Litestar, the management
API or Jinja. Measured with ``bench/boot.py``: importing and building it takes about
0.15 s of CPU and 20 MB; that first request pays it once.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from oneapi import __version__
from oneapi.api import system
from oneapi.api.auth import check_declared
from oneapi.api.context import run_bound
from oneapi.api.routes import install_management, management_router
from oneapi.errors import Unauthorized
from oneapi.exception_handlers import exception_handlers
from oneapi.relay.client_format_routes import client_format_routes
from oneapi.relay.proxy import proxy_route
from oneapi.relay.realtime import realtime_route
from oneapi.relay.responses_routes import responses_routes
from oneapi.relay.routes import relay_routes
from oneapi.runtime import Component, Runtime
from oneapi.security import constant_time_equal
from oneapi.web import WebUI

__all__ = ("build_console", "metrics_endpoint")


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text format; needs ``Authorization: Bearer $METRICS_TOKEN`` when that is set."""
    runtime: Runtime = request.app.state.runtime
    expected = runtime.settings.metrics_token
    if expected:
        given = request.headers.get("authorization", "")
        given = given[7:].strip() if given[:7].lower() == "bearer " else ""
        if not given or not constant_time_equal(given, expected):
            raise Unauthorized("a valid metrics token is required", code="invalid_metrics_token")
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    body = generate_latest(runtime.services.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def build_console(runtime: Runtime) -> tuple[Litestar, list[Component]]:
    """The Litestar app, and the runtime components the management API brings (the channel tests).

    On a first boot it waits until root exists, so no login is served before it can succeed.
    """
    runtime.wait_for_root()
    management = install_management(runtime)
    app = Litestar(
        route_handlers=[system.healthz, *relay_routes, *client_format_routes, *responses_routes, proxy_route,
                        realtime_route, management_router(), metrics_endpoint],
        exception_handlers=exception_handlers,
        state=State({"runtime": runtime, "management": management}),
        middleware=[run_bound(runtime.services.database)],
        request_max_body_size=runtime.settings.max_request_body_mb * 1024 * 1024,
        openapi_config=OpenAPIConfig(title="One API", version=__version__, path="/schema",
                                     render_plugins=[SwaggerRenderPlugin()]),
        logging_config=None,
        plugins=[WebUI()],
        debug=False,
    )
    check_declared(app)
    return app, [management.channel_tests]  # the caller attaches it, started if the runtime runs
