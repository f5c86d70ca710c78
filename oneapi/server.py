"""The app factory: the runtime and the relay's lanes behind the edge; the rest on first use.

:func:`create_app` imports what relaying needs and nothing else: the management API, the
web UI and Litestar itself are built by :func:`oneapi.console.build_console` on the first
request the relay's lanes do not answer (``GET /healthz`` is answered by the edge).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oneapi.config import Settings, load_settings
from oneapi.edge import Edge
from oneapi.loading import collector_paused
from oneapi.log import configure_logging
from oneapi.relay.lanes import relay_lanes
from oneapi.runtime import Runtime
from oneapi.services import build_services

if TYPE_CHECKING:
    from oneapi.console import Console

__all__ = ("create_app",)


def create_app(settings: Settings | None = None) -> Edge:
    """Build the ASGI app on ``settings`` (the environment's when None); nothing touches the
    database until the runtime starts.

    Raises:
        ConfigError: the environment holds an unusable value (only when ``settings`` is None).
    """
    settings = settings or load_settings()
    configure_logging("DEBUG" if settings.debug else settings.log_level)
    services = build_services(settings)
    runtime = Runtime(services)

    def build() -> tuple[Console, list[Any]]:
        with collector_paused():  # Litestar and the console live as long as the process
            from oneapi.console import build_console

            return build_console(runtime)

    edge = Edge(None, services.metrics, relay_lanes(services.relay), runtime=runtime, build=build)
    if settings.channel_test_frequency > 0 and not settings.on_lambda:
        edge.load()  # scheduled channel tests live in the management API: load it now
    return edge
