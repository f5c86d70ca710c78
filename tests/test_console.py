"""The console registers its routes by area: the first ``/api/status`` registers only its own
area, each area answers its first call behind its layer's guards, every route is reached by the
paths it serves, and a first call answers as the whole app does (404, 405).

What each area's modules import is checked in a fresh interpreter by ``tests/test_lazy_boot.py``;
what each route does, by ``tests/api``, ``tests/web`` and ``tests/relay``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from oneapi.console import AREAS, WEB, areas_for
from oneapi.edge import Edge
from oneapi.server import create_app
from tests.support.gateway import ROOT, gateway_env

SYSTEM = {"/api/status", "/api/notice", "/api/about", "/api/home_page_content"}

# an anonymous first call into each area, and its answer: 401 shows the /api layer's role guard
FIRST_CALLS: dict[str, tuple[str, str, int]] = {
    "monitoring": ("GET", "/metrics", 200),
    "system": ("GET", "/api/status", 200),
    "users": ("GET", "/api/user/self", 401),
    "accounts": ("GET", "/api/reset_password?email=nobody%40example.com", 200),
    "oauth": ("GET", "/api/oauth/state", 200),
    "two_factor": ("GET", "/api/user/2fa/setup", 401),
    "tokens": ("GET", "/api/token/", 401),
    "channels": ("GET", "/api/channel/", 401),
    "redemptions": ("GET", "/api/redemption/", 401),
    "logs": ("GET", "/api/log/", 401),
    "options": ("GET", "/api/option/", 401),
    "pricing": ("GET", "/api/pricing/self", 401),
    "relay": ("GET", "/v1/models", 401),
    "web": ("GET", "/login", 200),
}


@pytest.fixture
def edge(clean_env: pytest.MonkeyPatch) -> Iterator[tuple[Edge, TestClient[Any]]]:
    clean_env.setenv("DEFAULT_LANGUAGE", "en")
    app = create_app()
    with TestClient(app) as client:
        yield app, client


def _paths(app: Litestar) -> set[str]:
    return {route.path for route in app.routes if not route.path.startswith("/schema")}  # OpenAPI's own


def _literal_head(path: str) -> str:
    """The route's path up to its first parameter: every request it answers starts so."""
    return path.split("{", 1)[0]


def test_the_first_status_call_registers_its_area_only(edge: tuple[Edge, TestClient[Any]]) -> None:
    app, client = edge
    assert client.get("/api/status").json()["success"] is True
    assert _paths(app.load()) == SYSTEM


def test_each_area_answers_its_first_call_behind_its_guards(edge: tuple[Edge, TestClient[Any]]) -> None:
    app, client = edge
    assert set(FIRST_CALLS) == {area.name for area in (*AREAS, WEB)}, "an area without a first call here"
    for name, (method, path, status) in FIRST_CALLS.items():
        area = next(area for area in (*AREAS, WEB) if area.name == name)
        before = _paths(app.load())
        answer = client.request(method, path)
        assert answer.status_code == status, (name, answer.text)
        if path.startswith("/api/"):
            assert answer.json()["success"] is (status == 200), (name, answer.text)
        added = _paths(app.load()) - before
        assert added, f"{name}: its first call registered nothing"
        assert all(area in areas_for(_literal_head(route_path)) for route_path in added), (name, added)


def test_every_route_is_reached_by_the_paths_it_serves(edge: tuple[Edge, TestClient[Any]]) -> None:
    app, _client = edge
    console_app = app.load()
    for area in (*AREAS, WEB):
        before = _paths(console_app)
        for routes in area.routes():
            console_app.register(routes)
        for route_path in _paths(console_app) - before:
            assert area in areas_for(_literal_head(route_path)), (area.name, route_path)


UNANSWERED = [("GET", "/api/user/topup"), ("DELETE", "/api/status"), ("GET", "/api/nothing"),
              ("GET", "/nothing"), ("PUT", "/v1/chat/completions"), ("GET", "/static/nothing.css")]


@pytest.mark.parametrize(("method", "path"), UNANSWERED)
def test_a_first_call_answers_as_the_whole_app(clean_env: pytest.MonkeyPatch, method: str, path: str) -> None:
    app = create_app()
    with TestClient(app) as client:
        first = client.request(method, path)
        app.litestar  # noqa: B018 - every area registered
        again = client.request(method, path)
    assert first.status_code in (404, 405) or first.json()["success"] is False  # /api: one-api's envelope
    assert (first.status_code, first.headers.get("allow"), first.content) == \
        (again.status_code, again.headers.get("allow"), again.content)


def test_the_openapi_document_lists_every_area(edge: tuple[Edge, TestClient[Any]]) -> None:
    _app, client = edge
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert {"/api/status", "/api/user/self", "/api/token", "/api/channel", "/api/log", "/api/option",
            "/api/pricing", "/api/redemption", "/api/oauth/state", "/api/user/2fa/setup",
            "/v1/models"} <= set(paths)


# A fresh interpreter loads the console as a server does (oneapi.console imports Litestar), then
# uses what the console leaves off: a YAML OpenAPI document, Litestar's debugger module, the
# asyncio half of limits (oneapi.api.ip_limits).
_LEFT_OFF = """
import json, sys
from oneapi.config import load_settings
from oneapi.console import build_console
from oneapi.runtime import Runtime
from oneapi.services import build_services

runtime = Runtime(build_services(load_settings()))
runtime.prepare_database()
console, _ = build_console(runtime)
unused = sorted({"yaml", "pdb", "pydantic.v1", "litestar.plugins.pydantic", "limits.aio"} & set(sys.modules))
plugins = sorted(type(plugin).__name__ for plugin in console.app.plugins._plugins)

from litestar import Litestar, get
from litestar.config import app as app_config
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import YamlRenderPlugin
from litestar.testing import TestClient

@get("/thing", sync_to_thread=False)
def thing() -> dict[str, int]:
    return {"one": 1}

yaml_app = Litestar([thing], openapi_config=OpenAPIConfig(title="t", version="1",
                                                          render_plugins=[YamlRenderPlugin()]))
with TestClient(yaml_app) as client:
    document = client.get("/schema/openapi.yaml")
import asyncio, limits, yaml
from limits.aio.storage import MemoryStorage

limiter = limits.aio.strategies.MovingWindowRateLimiter(MemoryStorage())
window = limits.RateLimitItemPerMinute(1)
print(json.dumps({"unused": unused, "plugins": plugins, "yaml_status": document.status_code,
                  "yaml_paths": sorted(yaml.safe_load(document.text)["paths"]),
                  "pdb": app_config.pdb.Pdb.__module__,
                  "async_hits": [asyncio.run(limiter.hit(window, "ip")) for _ in range(2)]}))
"""


def test_the_console_loads_without_what_litestar_imports_for_features_it_leaves_off(tmp_path: Path) -> None:
    env = gateway_env(tmp_path, {"LOG_LEVEL": "WARNING"})
    done = subprocess.run([sys.executable, "-c", _LEFT_OFF], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["unused"] == []  # PyYAML, the debugger, pydantic's v1 layer, limits' asyncio half
    assert "PydanticPlugin" not in report["plugins"] and "MsgspecDIPlugin" in report["plugins"]
    # and each still works when first used: Litestar's YAML document, its debugger module, limits.aio
    assert (report["yaml_status"], report["yaml_paths"]) == (200, ["/thing"])
    assert report["pdb"] == "pdb"
    assert report["async_hits"] == [True, False]
