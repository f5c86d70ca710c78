"""The app factory: routes, error rendering and the runtime's lifespan, behind the edge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from oneapi import __version__
from oneapi.api import system
from oneapi.api.auth import check_declared
from oneapi.api.routes import install_management, management_router
from oneapi.config import Settings, get_settings
from oneapi.edge import Edge
from oneapi.exception_handlers import exception_handlers
from oneapi.log import configure_logging
from oneapi.relay import install_relay
from oneapi.relay.native_routes import native_routes
from oneapi.relay.proxy import proxy_route
from oneapi.relay.realtime import realtime_route
from oneapi.relay.routes import relay_lanes, relay_routes
from oneapi.runtime import Runtime
from oneapi.scale import install_scale
from oneapi.web import WebUI

__all__ = ("create_app",)


def create_app(settings: Settings | None = None) -> Edge:
    """Build the ASGI app; nothing touches the database until the runtime starts."""
    settings = settings or get_settings()
    configure_logging("DEBUG" if settings.debug else settings.log_level)
    runtime = Runtime(settings)
    install_relay(runtime)
    install_management(runtime)
    scale_routes = install_scale(runtime)

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = Litestar(
        route_handlers=[system.healthz, *relay_routes, *native_routes, proxy_route, realtime_route,
                        management_router(), *scale_routes],
        exception_handlers=exception_handlers,  # type: ignore[arg-type]
        lifespan=[lifespan],
        state=State({"runtime": runtime}),
        request_max_body_size=settings.max_request_body_mb * 1024 * 1024,
        openapi_config=OpenAPIConfig(title="One API", version=__version__, path="/schema",
                                     render_plugins=[SwaggerRenderPlugin()]),
        logging_config=None,
        plugins=[WebUI()],
        debug=False,
    )
    check_declared(app)
    relay = runtime.state["relay"]
    return Edge(app, relay.metrics, relay_lanes(relay))
