"""Everything the relay's lanes do not answer, as one Litestar app whose routes are registered
by area on first use: the management API, the web UI, ``/metrics``, the relay's GET routes and
other vendors' routes.

:class:`oneapi.edge.Edge` imports this module and calls :func:`build_console` on the first
request that needs it, so a process that only relays never loads Litestar, the management
API or Jinja. That request also paid for registering all of the app's ~226 route handlers:
Litestar parses each handler's signature and deep-copies each router it is given (the whole
``/api`` router: 45,000 ``deepcopy`` calls). So the app is built with none of its routes, and
each area of :data:`AREAS` is imported and registered (``Litestar.register``) by the first
request under one of its prefixes; ``/schema`` (the OpenAPI document) and
:meth:`Console.complete` register them all. Both happen with the collector paused
(:mod:`oneapi.loading`): what they allocate lives as long as the process, and the collections
on the way cost 10-20 ms of the first call.

A path opens every area with a prefix of it (whole segments), so each route that could answer
it is registered before Litestar routes the request: 404 and 405 answers are the whole app's
(``tests/test_console.py``). A path no area claims opens the web UI, whose pages sit at the
root. Registering is synchronous and the edge serves on one event loop, so two first
requests at once cannot register an area twice.

CPU of each call after a restart, before (every route at build) / after, in ms: medians of 6
runs taken in turns on a 2-core machine other sessions loaded (load average 2-2.5):

* the first call, ``GET /api/status``: 264 / 150 (Litestar's import is about 100 of it even
  on a quiet machine); ``GET /`` as the first call: 253 / 155;
* after it, each area's first call: ``/`` 0.2 / 13, ``/api/user/self`` (a login opens that
  area) 5 / 22, tokens 15 / 21, channels 5 / 18, logs 5 / 14, redemptions 3 / 12, pricing
  3 / 9, options 1 / 5, OAuth 0.6 / 6.5, two-factor 17 / 22, ``/v1/models`` 2 / 12,
  ``/metrics`` 10 / 12, ``/schema/openapi.json`` (the rest) 64 / 73; later calls unchanged.

Almost all of that first call is importing: Litestar itself is about 500 M of its instructions
(callgrind; ~5 M make a millisecond of CPU here) and ``limits`` (the per-IP windows every
``/api`` call checks, :mod:`oneapi.api.ip_limits`) 58 M; building the app, registering the
area and answering, 40 M. Litestar also imports PyYAML, for a YAML document the console does
not serve (86 M), pdb, for a debugger it leaves off (7 M), and its pydantic plugins whenever
pydantic is installed (95 M): the first two are imported on first use
(:func:`oneapi.loading.imported_on_first_use`), the plugins are left out (:class:`_ConsoleApp`).
With the channel tests' modules left to the first test and limits' asyncio half unloaded, the
first ``GET /api/status`` after a restart went from 861 to 646 M instructions, and from 158 to
122 ms of CPU in-process (medians of 9 runs in turns).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from oneapi.loading import collector_paused, imported_on_first_use

with imported_on_first_use("yaml", "pdb"):  # Litestar's, for a YAML document and a debugger we leave off
    from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from oneapi import __version__
from oneapi.api.auth import check_declared
from oneapi.api.context import run_bound
from oneapi.api.routes import install_management, management_router
from oneapi.errors import Unauthorized
from oneapi.exception_handlers import exception_handlers
from oneapi.runtime import Component, Runtime
from oneapi.security import constant_time_equal
from oneapi.web import template_config, web_router

if TYPE_CHECKING:
    from litestar.plugins import PluginProtocol
    from litestar.types import ControllerRouterHandler, Scope

__all__ = ("AREAS", "WEB", "Area", "Console", "areas_for", "build_console", "metrics_endpoint")

_OPENAPI_PATH = "/schema"


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


@dataclass(frozen=True)
class Area:
    """Routes registered together: the path prefixes they serve, and how to import and build them."""

    name: str
    prefixes: tuple[str, ...]
    routes: Callable[[], Sequence[ControllerRouterHandler]]


def _management(module: str, *handlers: str) -> Callable[[], Sequence[ControllerRouterHandler]]:
    """``handlers`` of ``oneapi.api.<module>`` (imported when the area opens) behind the ``/api`` layer."""
    def build() -> Sequence[ControllerRouterHandler]:
        found = import_module(f"oneapi.api.{module}")
        return [management_router(*(getattr(found, name) for name in handlers))]

    return build


def _monitoring_routes() -> Sequence[ControllerRouterHandler]:
    from oneapi.api.system import healthz

    return [healthz, metrics_endpoint]


def _relay_routes() -> Sequence[ControllerRouterHandler]:
    """The relay's GET routes, other methods on its POST paths (405), other vendors' formats."""
    from oneapi.relay.client_format_routes import client_format_routes
    from oneapi.relay.proxy import proxy_route
    from oneapi.relay.realtime import realtime_route
    from oneapi.relay.responses_routes import responses_routes
    from oneapi.relay.routes import relay_routes

    return [*relay_routes, *client_format_routes, *responses_routes, proxy_route, realtime_route]


AREAS: tuple[Area, ...] = (
    Area("monitoring", ("/healthz", "/metrics"), _monitoring_routes),
    Area("system", ("/api/status", "/api/notice", "/api/about", "/api/home_page_content"),
         _management("system", "status", "notice", "about", "home_page_content")),
    Area("users", ("/api/user",), _management("users", "UserController")),
    Area("accounts", ("/api/verification", "/api/reset_password", "/api/user/reset", "/api/oauth/email/bind"),
         _management("accounts", "send_verification", "send_reset_link", "reset_password", "bind_email")),
    Area("oauth", ("/api/oauth",),
         _management("oauth", "oauth_state", "github", "oidc", "lark", "wechat", "wechat_bind")),
    Area("two_factor", ("/api/user/login/2fa", "/api/user/2fa"),
         _management("two_factor", "login_second_factor", "setup", "enable", "disable")),
    Area("tokens", ("/api/token",), _management("tokens", "TokenController")),
    Area("channels", ("/api/channel", "/api/models"),
         _management("channels", "ChannelController", "models_per_type")),
    Area("redemptions", ("/api/redemption", "/api/topup", "/api/user/topup"),
         _management("redemptions", "RedemptionController", "user_topup", "admin_topup")),
    Area("logs", ("/api/log",), _management("logs", "LogController")),
    Area("options", ("/api/option",), _management("options", "OptionController")),
    Area("pricing", ("/api/pricing", "/api/group"), _management("pricing", "PricingController", "groups")),
    Area("relay", ("/v1", "/v1beta"), _relay_routes),
)
WEB = Area("web", (), lambda: [web_router()])  # every path no area of AREAS claims: the pages sit at the root

_BY_PREFIX: dict[str, list[Area]] = {}
for _area in AREAS:
    for _prefix in _area.prefixes:
        _BY_PREFIX.setdefault(_prefix, []).append(_area)


def areas_for(path: str) -> list[Area]:
    """The areas whose routes could answer ``path`` (as Litestar routes it: empty segments skipped)."""
    found: list[Area] = []
    prefix = ""
    for segment in path.split("/"):
        if segment:
            prefix = f"{prefix}/{segment}"
            if prefix == _OPENAPI_PATH:
                return [*AREAS, WEB]  # the document lists every route
            found.extend(_BY_PREFIX.get(prefix, ()))
    return found or [WEB]


class Console:
    """The Litestar app, and the areas not registered yet."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self._closed = {area.name: area for area in (*AREAS, WEB)}
        self._refused: RuntimeError | None = None

    def open_for(self, scope: Scope) -> Litestar:
        """The app, with every area that could answer the request registered."""
        if self._refused is not None:
            raise self._refused
        if self._closed:
            path = scope["path"]
            if root_path := scope.get("root_path"):  # as Litestar's router strips it
                path = path.split(root_path, maxsplit=1)[-1]
            self._open(areas_for(path))
        return self.app

    def complete(self) -> Litestar:
        """The app with every area registered (for the OpenAPI document, and tests that list routes)."""
        self._open(list(self._closed.values()))
        return self.app

    def _open(self, areas: Sequence[Area]) -> None:
        for area in areas:
            if self._closed.pop(area.name, None) is None:
                continue
            with collector_paused():  # the routes live as long as the process
                for routes in area.routes():
                    self.app.register(routes)
            try:
                check_declared(self.app)
            except RuntimeError as error:  # registered all the same: refuse every request from now on
                self._refused = error
                raise


class _ConsoleApp(Litestar):
    """Litestar without the plugins it adds by default for pydantic and attrs types.

    Litestar imports its pydantic plugins whenever pydantic is installed (SQLModel brings it), and
    they import pydantic's v1 compatibility layer: 95 M instructions, about 20 ms of the first
    call's CPU. The console's routes take and answer msgspec structs and plain values only (rows
    become dicts, ``oneapi.api.common.row``), so those plugins would never act; the OpenAPI
    document and every answer are the same without them. Litestar offers no setting for this,
    so this overrides the one static method that chooses them; ``tests/test_console.py`` checks
    that pydantic's v1 layer stays unloaded and msgspec's plugin (Litestar's own) stays in.
    """

    @staticmethod
    def _get_default_plugins(plugins: list[PluginProtocol]) -> list[PluginProtocol]:
        from litestar.plugins.core import MsgspecDIPlugin

        return [*plugins, MsgspecDIPlugin()]


def build_console(runtime: Runtime) -> tuple[Console, list[Component]]:
    """The Litestar app (no routes registered yet), and the runtime components the management
    API brings (the channel tests).

    On a first boot it waits until root exists, so no login is served before it can succeed.
    """
    runtime.wait_for_root()
    management = install_management(runtime)
    app = _ConsoleApp(
        exception_handlers=exception_handlers,
        state=State({"runtime": runtime, "management": management}),
        middleware=[run_bound(runtime.services.database)],
        request_max_body_size=runtime.settings.max_request_body_mb * 1024 * 1024,
        openapi_config=OpenAPIConfig(title="One API", version=__version__, path=_OPENAPI_PATH,
                                     render_plugins=[SwaggerRenderPlugin()]),
        template_config=template_config(),
        logging_config=None,
        debug=False,
    )
    return Console(app), [management.channel_tests]  # the caller attaches it, started if the runtime runs
